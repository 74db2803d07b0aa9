"""Training augmentation run inside `tf.data` (works whatever `KERAS_BACKEND` is).

The recipe is the bag-of-tricks one used by torchreid/fast-reid configs: horizontal flip,
zero-pad 10 + random crop back to size, ImageNet normalisation, random erasing.

**Random erasing.** The default (`erasing="torchreid"`) reimplements torchreid's
`RandomErasing(probability=0.5, sl=0.02, sh=0.4, r1=0.3, mean=norm_mean)` with TF ops: with
probability 0.5, up to 100 attempts draw an area fraction U(0.02, 0.4) and an aspect ratio
U(0.3, 1/0.3), take `h = round(sqrt(area·aspect))`, `w = round(sqrt(area/aspect))`, keep the
first with `h < H` and `w < W`, place it uniformly and fill it with the constant mean values.
As torchreid, erasing happens *after* normalisation, so the patch holds the ImageNet mean
values (0.485, 0.456, 0.406) in normalised units (a torchreid quirk, kept for parity).

`erasing="keras"` uses `keras.layers.RandomErasing` instead, whose semantics differ
(Keras 3.15): a float `factor=p` draws a per-image probability U(0, p) (mean p/2; this module
passes `factor=(p, p)` to get exactly p); `scale=(a, b)` draws the width and height fractions
independently as sqrt(U(a, b)) each (area fraction sqrt(u1·u2), no aspect-ratio range, no
rejection loop); the default fill is Gaussian noise × 255 clipped to `value_range` (here a
constant fill is passed: the mean in pixel units, applied before normalisation).
"""

import keras
import tensorflow as tf

from keras_reid.presets.preprocessor import IMAGENET_MEAN, IMAGENET_STD


def torchreid_random_erasing(image, seed, probability=0.5, area=(0.02, 0.4), aspect=0.3, fill=IMAGENET_MEAN, attempts=100):
    """torchreid's `RandomErasing` on one `(H, W, C)` float image, stateless in `seed` (shape (2,))."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
    apply = tf.random.stateless_uniform([], seeds[0]) <= probability
    total = tf.cast(height * width, tf.float32)
    target = tf.random.stateless_uniform([attempts], seeds[1], area[0], area[1]) * total
    ratio = tf.random.stateless_uniform([attempts], seeds[2], aspect, 1.0 / aspect)
    h = tf.cast(tf.round(tf.sqrt(target * ratio)), tf.int32)
    w = tf.cast(tf.round(tf.sqrt(target / ratio)), tf.int32)
    valid = (w < width) & (h < height)
    first = tf.argmax(tf.cast(valid, tf.int32), output_type=tf.int32)
    h0, w0 = h[first], w[first]
    top = tf.cast(tf.floor(tf.random.stateless_uniform([], seeds[3]) * tf.cast(height - h0 + 1, tf.float32)), tf.int32)
    left = tf.cast(tf.floor(tf.random.stateless_uniform([], seeds[4]) * tf.cast(width - w0 + 1, tf.float32)), tf.int32)
    rows = tf.range(height)[:, None]
    cols = tf.range(width)[None, :]
    mask = (rows >= top) & (rows < top + h0) & (cols >= left) & (cols < left + w0)
    mask = mask & apply & tf.reduce_any(valid)
    fill = tf.cast(tf.reshape(fill, [1, 1, -1]), image.dtype)
    return tf.where(mask[:, :, None], fill, image)


class ReIDAugmentation:
    """Per-image training augmentation for the `tf.data` pipeline.

    Operates on one `(H, W, 3)` float32 image with 0–255 values and returns it normalised:
    `keras.layers.RandomFlip("horizontal")` → zero padding `pad` + `keras.layers.RandomCrop(H, W)`
    → `(x / 255 − mean) / std` → random erasing (see the module docstring). The Keras layers
    run on the TF backend inside `tf.data` whatever `KERAS_BACKEND` is.

    Args:
        image_size: `(H, W)`.
        mean, std: normalisation (ImageNet by default; take them from a `ReIDPreprocessor`).
        flip: apply the horizontal flip.
        pad: zero padding before the random crop (0 disables pad-and-crop).
        erasing: "torchreid" (default), "keras" or None.
        erase_probability, erase_area, erase_aspect: torchreid's 0.5, (0.02, 0.4), 0.3.
        seed: integer seed; with a seed the augmentation sequence is reproducible when the
            pipeline applies it sequentially (it does).

    Example:
    >>> import tensorflow as tf
    >>> aug = ReIDAugmentation((64, 32), seed=1)
    >>> aug(tf.zeros((64, 32, 3)), tf.constant(0, tf.int64)).shape
    TensorShape([64, 32, 3])
    """

    def __init__(
        self,
        image_size,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        flip=True,
        pad=10,
        erasing="torchreid",
        erase_probability=0.5,
        erase_area=(0.02, 0.4),
        erase_aspect=0.3,
        seed=None,
    ):
        if erasing not in ("torchreid", "keras", None):
            raise ValueError(f"erasing must be 'torchreid', 'keras' or None, got {erasing!r}.")
        self.image_size = tuple(int(s) for s in image_size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.pad = int(pad)
        self.erasing = erasing
        self.erase_probability = float(erase_probability)
        self.erase_area = tuple(erase_area)
        self.erase_aspect = float(erase_aspect)
        self.seed = seed
        sub = (lambda k: None) if seed is None else (lambda k: int(seed) * 7 + k)
        self.flip = keras.layers.RandomFlip("horizontal", seed=sub(1)) if flip else None
        self.crop = keras.layers.RandomCrop(*self.image_size, seed=sub(2)) if self.pad else None
        self.keras_erasing = None
        if erasing == "keras":
            self.keras_erasing = keras.layers.RandomErasing(
                factor=(self.erase_probability, self.erase_probability),
                scale=self.erase_area,
                fill_value=[255.0 * m for m in self.mean],
                value_range=(0, 255),
                seed=sub(3),
            )
        self._erase_seed = 0 if seed is None else int(seed)

    def __call__(self, image, index):
        """Augments one image; `index` (int64 scalar) seeds the stateless torchreid erasing."""
        image = tf.cast(image, tf.float32)
        if self.flip is not None:
            image = self.flip(image, training=True)
        if self.crop is not None:
            p = self.pad
            image = tf.pad(image, [[p, p], [p, p], [0, 0]])
            image = self.crop(image, training=True)
        if self.keras_erasing is not None:
            image = self.keras_erasing(image[None], training=True)[0]
        image = tf.ensure_shape(image, self.image_size + (3,))
        image = normalize(image, self.mean, self.std)
        if self.erasing == "torchreid":
            if self.seed is None:
                seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
            else:
                seed = tf.stack([tf.constant(self._erase_seed, tf.int64), tf.cast(index, tf.int64)])
            image = torchreid_random_erasing(
                image, seed, self.erase_probability, self.erase_area, self.erase_aspect, fill=self.mean
            )
        return image


def normalize(image, mean, std):
    """`(x / 255 − mean) / std` in TF ops (the same formula as `ReIDPreprocessor.normalize`)."""
    mean = tf.constant(mean, tf.float32)
    std = tf.constant(std, tf.float32)
    return (tf.cast(image, tf.float32) / 255.0 - mean) / std


def color_jitter(image, seed, strength=0.2, grayscale_probability=0.0):
    """Colour/style augmentation of one `(H, W, 3)` float image in 0–255, stateless in `seed`.

    torchvision's `ColorJitter(b, c, s, h)` with `b = c = s = strength` and `h = strength / 4`,
    applied in the fixed order brightness → contrast → saturation → hue (torchvision
    permutes the order per image), then grey with probability `grayscale_probability`.
    Brightness scales the pixels, contrast blends with the image's mean grey level,
    saturation with its per-pixel grey level (ITU-R 601 luma, as torchvision), hue rotates
    the hue channel by U(-h, h) of a full turn. Values are clipped to 0–255 after each step.
    Used to make a model less sensitive to the colour statistics of one camera network.

    Example:
    >>> import tensorflow as tf
    >>> color_jitter(tf.fill((4, 2, 3), 128.0), tf.constant([1, 2], tf.int64), 0.3).shape
    TensorShape([4, 2, 3])
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
    image = tf.cast(image, tf.float32)
    luma = tf.constant([0.299, 0.587, 0.114], tf.float32)

    def factor(k):
        return tf.random.stateless_uniform([], seeds[k], max(0.0, 1.0 - strength), 1.0 + strength)

    if strength:
        image = tf.clip_by_value(image * factor(0), 0.0, 255.0)
        grey_mean = tf.reduce_mean(tf.tensordot(image, luma, 1))
        image = tf.clip_by_value((image - grey_mean) * factor(1) + grey_mean, 0.0, 255.0)
        grey = tf.tensordot(image, luma, 1)[..., None]
        image = tf.clip_by_value((image - grey) * factor(2) + grey, 0.0, 255.0)
        delta = tf.random.stateless_uniform([], seeds[3], -strength / 4.0, strength / 4.0)
        image = tf.clip_by_value(tf.image.adjust_hue(image / 255.0, delta) * 255.0, 0.0, 255.0)
    if grayscale_probability:
        grey = tf.repeat(tf.tensordot(image, luma, 1)[..., None], 3, axis=-1)
        image = tf.where(tf.random.stateless_uniform([], seeds[4]) < grayscale_probability, grey, image)
    return image
