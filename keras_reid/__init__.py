"""keras_reid: a Keras 3 model zoo for person re-identification."""

from keras_reid import data, evaluation, layers, losses
from keras_reid.backbones import MobileNetV2Backbone, ResNetBackbone
from keras_reid.feature_extractor import FeatureExtractor
from keras_reid.models import ReIDModel, build, list_architectures
from keras_reid.presets import (
    PresetError,
    ReIDPreprocessor,
    list_presets,
    load,
    save_preset,
)
from keras_reid.version import __version__
