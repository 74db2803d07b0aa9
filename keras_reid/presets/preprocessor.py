import json

import numpy as np

from keras_reid.api_export import keras_reid_export

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
        """Resizes a uint8/float batch `(N, h, w, 3)` to `image_size` (float32, values kept)."""
        import tensorflow as tf

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
        return cls(**config)

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.get_config(), f, indent=2)

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.from_config(json.load(f))

    def __eq__(self, other):
        return isinstance(other, ReIDPreprocessor) and self.get_config() == other.get_config()

    def __repr__(self):
        return f"ReIDPreprocessor({self.get_config()})"
