import keras
from keras import ops

from keras_reid.api_export import keras_reid_export

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The `keras.ops.image.resize` methods (every backend); TensorFlow-only methods of
# `tf.image.resize` ("gaussian", "mitchellcubic") stay with `ReIDPreprocessor.resize`.
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


@keras_reid_export
class ImagePreprocessing(keras.layers.Layer):
    """Raw RGB images of any size → the model's normalised input, inside the model.

    Casts uint8 or float 0–255 pixels `(N, h, w, 3)` to float32, resizes them to
    `image_size` with `interpolation` (half-pixel centres, no antialiasing: what
    `tf.image.resize` and torchvision's tensor `Resize(antialias=False)` do), then maps
    them to `(x / 255 - mean) / std` per RGB channel (torchvision's `ToTensor` +
    `Normalize`). Images already at `image_size` are not resized (when the size is known
    while tracing; resizing to the same size is the identity for bilinear anyway). It is
    the preset's `preprocessor.json` as a serialisable Keras layer, so that `predict`,
    `fit`, `evaluate`, a `.keras` file and an exported artifact all carry it.

    Computes in float32 whatever the global dtype policy (under mixed precision the
    network's first layer casts its output).

    Args:
        image_size: `(height, width)` of the model input.
        mean: per-channel mean of [0, 1] RGB images (ImageNet's by default).
        std: per-channel standard deviation.
        interpolation: one of "bilinear" (the presets'), "nearest", "bicubic", "area",
            "lanczos3", "lanczos5".

    Example:
    >>> import numpy as np
    >>> layer = ImagePreprocessing((256, 128))
    >>> tuple(layer(np.full((2, 300, 100, 3), 255, "uint8")).shape)
    (2, 256, 128, 3)

    Reference: torchreid `data/transforms.py` (`Resize`, `ToTensor`, `Normalize` at test
    time); KerasHub's `ImageConverter` layer plays the same part for its image tasks.
    """

    def __init__(self, image_size=(256, 128), mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation="bilinear", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if len(tuple(image_size)) != 2 or any(int(s) < 1 for s in image_size):
            raise ValueError(f"image_size must be (height, width) with positive sides, got {image_size!r}.")
        if len(tuple(mean)) != 3 or len(tuple(std)) != 3:
            raise ValueError(f"mean and std must hold 3 values (R, G, B), got {mean!r} and {std!r}.")
        if any(float(s) <= 0 for s in std):
            raise ValueError(f"std must be positive, got {std!r}.")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {', '.join(INTERPOLATIONS)} (every backend), got {interpolation!r}."
            )
        self.image_size = tuple(int(s) for s in image_size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.interpolation = interpolation

    @classmethod
    def from_preprocessor(cls, preprocessor, **kwargs):
        """The layer computing what a `keras_reid.ReIDPreprocessor` (a preset's) computes."""
        return cls(**preprocessor.get_config(), **kwargs)

    def to_preprocessor(self):
        """The equivalent `keras_reid.ReIDPreprocessor` (what a preset's `preprocessor.json` holds)."""
        from keras_reid.presets.preprocessor import ReIDPreprocessor

        return ReIDPreprocessor(self.image_size, self.mean, self.std, self.interpolation)

    def call(self, images):
        if images.shape[-1] is not None and images.shape[-1] != 3:
            raise ValueError(f"ImagePreprocessing expects RGB images (N, H, W, 3), got shape {tuple(images.shape)}.")
        x = ops.cast(images, "float32")
        if tuple(x.shape[1:3]) != self.image_size:
            x = ops.image.resize(x, self.image_size, interpolation=self.interpolation, antialias=False)
        # The same float32 arithmetic as `ReIDPreprocessor.normalize`: x / 255, then (x - mean) / std.
        x = x / 255.0
        mean = ops.convert_to_tensor(self.mean, "float32")
        std = ops.convert_to_tensor(self.std, "float32")
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_size, 3)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": list(self.image_size),
                "mean": list(self.mean),
                "std": list(self.std),
                "interpolation": self.interpolation,
            }
        )
        return config
