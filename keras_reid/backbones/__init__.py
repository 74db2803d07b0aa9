"""Torch-faithful backbones."""

from keras_reid.backbones.mobilenet_v2_backbone import MobileNetV2Backbone
from keras_reid.backbones.osnet_backbone import OSNetBackbone
from keras_reid.backbones.resnet_backbone import ResNetBackbone
from keras_reid.backbones.attention import list_attention, register_attention
