"""Torch-faithful backbones."""

from keras_reid.backbones.mobilenet_v2_backbone import MobileNetV2Backbone
from keras_reid.backbones.resnet_backbone import ResNetBackbone
