import json
import math
import numbers
import os
import stat

import numpy as np

from keras_reid.api_export import keras_reid_export
from keras_reid.presets.errors import PresetFormatError, PresetIntegrityError, json_type

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# `tf.image.resize` methods: what `resize` and the data pipeline accept.
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
CONFIG_FIELDS = ("image_size", "mean", "std", "interpolation")
# ReID inputs are a few hundred pixels; a larger side is a corrupt or hostile file.
MAX_IMAGE_SIDE = 4096
MAX_CONFIG_BYTES = 1 << 20


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_config(config):
    """Raises `ValueError` naming the first bad field of a preprocessor config (a dict from JSON)."""
    if not isinstance(config, dict):
        raise ValueError(f"must hold a JSON object with {', '.join(CONFIG_FIELDS)}, got {json_type(config)}")
    unknown = sorted(str(k) for k in config if k not in CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))} (expected {', '.join(CONFIG_FIELDS)})")
    size = config.get("image_size", [1, 1])
    if not (
        isinstance(size, (list, tuple))
        and len(size) == 2
        and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and 1 <= s <= MAX_IMAGE_SIDE for s in size)
    ):
        raise ValueError(
            f"field 'image_size' must be [height, width], two integers from 1 to {MAX_IMAGE_SIDE}, got {size!r}"
        )
    for field in ("mean", "std"):
        values = config.get(field, [1.0, 1.0, 1.0])
        if not (isinstance(values, (list, tuple)) and len(values) == 3 and all(_is_number(v) for v in values)):
            raise ValueError(f"field {field!r} must be a list of 3 finite numbers (R, G, B), got {values!r}")
    if not all(v > 0 for v in config.get("std", [1.0])):
        raise ValueError(f"field 'std' must be positive, got {config['std']!r}")
    interpolation = config.get("interpolation", "bilinear")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"field 'interpolation' must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")


@keras_reid_export
class ReIDPreprocessor:
    """How a preset expects its images: size, interpolation and normalisation.

    Saved as `preprocessor.json` beside every preset so that embeddings are computed
    the way the model was trained: resize to `image_size` (H, W) with `interpolation`,
    scale to [0, 1], subtract `mean` and divide by `std` per RGB channel (torchvision's
    `ToTensor` + `Normalize`, ImageNet statistics by default).

    Args:
        image_size: `(height, width)` of the model input, e.g. (256, 128).
        mean: per-channel mean of [0, 1] RGB images.
        std: per-channel standard deviation.
        interpolation: resize method ("bilinear" as torchreid's `Resize`).

    Example:
    >>> import numpy as np
    >>> pre = ReIDPreprocessor((256, 128))
    >>> pre(np.full((1, 300, 100, 3), 255, "uint8")).shape
    (1, 256, 128, 3)
    """

    def __init__(self, image_size=(256, 128), mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation="bilinear"):
        self.image_size = tuple(int(s) for s in image_size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.interpolation = interpolation

    def resize(self, images):
        """Resizes a uint8/float batch `(N, h, w, 3)` to `image_size` (float32, values kept).

        `tf.image.resize`; without TensorFlow, the same kernel in NumPy
        (`keras_reid.utils.images.resize_image`).
        """
        try:
            import tensorflow as tf
        except ImportError:
            from keras_reid.utils.images import resize_image

            return np.stack([resize_image(image, self.image_size, self.interpolation) for image in np.asarray(images)])
        images = tf.convert_to_tensor(images)
        out = tf.image.resize(tf.cast(images, tf.float32), self.image_size, method=self.interpolation, antialias=False)
        return out.numpy()

    def normalize(self, images):
        """Maps 0–255 RGB values to the model's input range."""
        images = np.asarray(images, dtype="float32") / 255.0
        return (images - np.array(self.mean, "float32")) / np.array(self.std, "float32")

    def __call__(self, images):
        """Resizes (when needed) and normalises a batch of 0–255 RGB images `(N, h, w, 3)`."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"Expected a batch of RGB images (N, H, W, 3), got shape {images.shape}.")
        if tuple(images.shape[1:3]) != self.image_size:
            images = self.resize(images)
        return self.normalize(images)

    def get_config(self):
        return {
            "image_size": list(self.image_size),
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
        }

    @classmethod
    def from_config(cls, config):
        """Builds a preprocessor from `get_config()`; raises `ValueError` naming a bad field."""
        check_config(config)
        return cls(**config)

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.get_config(), f, indent=2)

    @classmethod
    def load(cls, path):
        """Reads `preprocessor.json`; a malformed file raises `PresetFormatError` naming the field."""
        info = os.stat(path)
        # A FIFO or device would block or never end; a preprocessor config is a few hundred bytes.
        if not stat.S_ISREG(info.st_mode):
            raise PresetIntegrityError(f"{path} is not a regular file: re-download or re-save the preset.")
        if info.st_size > MAX_CONFIG_BYTES:
            raise PresetFormatError(
                f"{path} is {info.st_size} bytes, above the {MAX_CONFIG_BYTES} bytes a preprocessor config may take: "
                "re-save the preset with keras_reid.save_preset."
            )
        try:
            with open(path) as f:
                config = json.load(f)
            return cls.from_config(config)
        except json.JSONDecodeError as e:
            raise PresetFormatError(f"{path} is not valid JSON ({e.msg}): re-download the preset.") from None
        except ValueError as e:
            raise PresetFormatError(
                f"{path}: {e}; fix the file or re-save the preset with keras_reid.save_preset."
            ) from None

    def __eq__(self, other):
        return isinstance(other, ReIDPreprocessor) and self.get_config() == other.get_config()

    def __repr__(self):
        return f"ReIDPreprocessor({self.get_config()})"
