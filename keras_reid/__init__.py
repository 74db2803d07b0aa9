"""keras_reid: a Keras 3 model zoo for person re-identification.

Attributes load on first use (PEP 562): `import keras_reid` imports neither Keras nor a
backend, so the command line answers `--help` at once and `KERAS_BACKEND=jax` programs never
import TensorFlow unless they use the `tf.data` pipeline. `keras_reid.load`, `keras_reid.build`
and the rest import what they need when first touched.
"""

import importlib

from keras_reid.version import __version__

# public name -> (module, attribute or None for the module itself)
_LAZY = {
    "data": ("keras_reid.data", None),
    "evaluation": ("keras_reid.evaluation", None),
    "layers": ("keras_reid.layers", None),
    "losses": ("keras_reid.losses", None),
    "models": ("keras_reid.models", None),
    "presets": ("keras_reid.presets", None),
    "training": ("keras_reid.training", None),
    "backbones": ("keras_reid.backbones", None),
    "visualization": ("keras_reid.visualization", None),
    "MobileNetV2Backbone": ("keras_reid.backbones", "MobileNetV2Backbone"),
    "ResNetBackbone": ("keras_reid.backbones", "ResNetBackbone"),
    "OSNetBackbone": ("keras_reid.backbones", "OSNetBackbone"),
    "FeatureExtractor": ("keras_reid.feature_extractor", "FeatureExtractor"),
    "ReIDModel": ("keras_reid.models", "ReIDModel"),
    "GlobalPoolingReID": ("keras_reid.models", "GlobalPoolingReID"),
    "build": ("keras_reid.models", "build"),
    "list_architectures": ("keras_reid.models", "list_architectures"),
    "PresetError": ("keras_reid.presets", "PresetError"),
    "ReIDPreprocessor": ("keras_reid.presets", "ReIDPreprocessor"),
    "list_presets": ("keras_reid.presets", "list_presets"),
    "load": ("keras_reid.presets", "load"),
    "save_preset": ("keras_reid.presets", "save_preset"),
    "upload_preset": ("keras_reid.presets", "upload_preset"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_reid' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def register_all():
    """Imports every module that registers Keras classes (layers, models, losses), so that
    `keras.saving` can deserialise any keras_reid object; called before loading presets."""
    for module in ("keras_reid.layers", "keras_reid.models", "keras_reid.losses", "keras_reid.backbones"):
        importlib.import_module(module)
