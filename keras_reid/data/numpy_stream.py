"""The trainer's input stream without TensorFlow: NumPy augmentation in a `keras.utils.PyDataset`.

`numpy_train_dataset` yields what `keras_reid.data.training_stream.train_dataset` (the
`tf.data` stream) yields, on machines with JAX or PyTorch and no TensorFlow:

* **Same images, same order.** The image indices of an epoch come from
  `training_stream.epoch_indices`, the function the `tf.data` stream uses, so both streams
  put the same images (and labels) in every batch.
* **Same decoding and resize.** Files are read by `keras_reid.utils.images.read_image` and
  resized by `keras_reid.utils.images.resize_image`, TensorFlow's bilinear kernel computed in
  NumPy: with augmentation off, the batches equal the `tf.data` ones.
* **Same augmentation, other random numbers.** Horizontal flip (p 0.5), zero padding
  `crop_pad` + a uniform crop, colour jitter and random grey (`augmentation.color_jitter`),
  `(x / 255 - mean) / std`, torchreid random erasing (`augmentation.torchreid_random_erasing`)
  are ported op by op, but they draw from `np.random.default_rng([seed, sample])` (`sample`
  is the global sample index, `epoch × steps_per_epoch × batch_size + position`) instead of
  TensorFlow's stateless generators: the augmented pixels differ from the `tf.data` stream's,
  their distribution does not. Every sample draws the same uniforms whatever the recipe
  enables, so switching one augmentation on leaves the draws of the others unchanged.
* **Stateless, hence resumable.** A batch depends only on `(seed, epoch, step)`: a run resumed
  at epoch `e` sees exactly the batches the straight run saw.

Parallelism. Keras' own `PyDataset` workers (`workers > 1`) restart their index at every
epoch and, after `fit` has taken one batch to build the loss, replay the batches left in their
queue (Keras 3.15): the stream would shift by a few batches. The dataset is therefore read by
Keras in order with a single worker and decodes itself: `workers` threads (Pillow and NumPy
release the GIL) prepare the images of the next `prefetch` batches while the model runs.
"""

import concurrent.futures
import os
import threading

import keras
import numpy as np

from keras_reid.data.training_stream import epoch_indices
from keras_reid.presets.preprocessor import IMAGENET_MEAN
from keras_reid.utils.images import read_image, resize_image

# ITU-R 601 luma, as torchvision and `augmentation.color_jitter`.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
ERASE_ATTEMPTS = 100
# The uniforms every sample draws: flip; crop top, left; colour (brightness, contrast,
# saturation, hue, grey); erasing (apply, top, left). Then the erasing attempts.
_FLIP, _CROP, _COLOUR, _ERASE, _NUM_DRAWS = 0, slice(1, 3), slice(3, 8), slice(8, 11), 11


def adjust_hue(image, delta):
    """`tf.image.adjust_hue` of one `(H, W, 3)` RGB image with values in [0, 1], in NumPy.

    Rotates every pixel's hue by `delta` of a full turn, keeping its saturation and value,
    with the arithmetic of TensorFlow's CPU kernel (the hue in sixths of a turn, found from
    the order of the three channels).

    Args:
        image: `(H, W, 3)` float array, values in [0, 1].
        delta: hue shift in turns, in [-1, 1].

    Returns:
        The float32 `(H, W, 3)` image with the hue shifted.

    Example:
    >>> import numpy as np
    >>> adjust_hue(np.array([[[1.0, 0.0, 0.0]]]), 1 / 3).round(6).tolist()  # red -> green
    [[[0.0, 1.0, 0.0]]]
    """
    image = np.asarray(image, np.float32)
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    # The kernel's hue sector (0-5) from the order of the channels, ties resolved as there.
    category = np.where(
        r < g,
        np.where(b < r, 1, np.where(b > g, 3, 2)),
        np.where(b < g, 0, np.where(b > r, 4, 5)),
    )
    low, high = np.minimum(r, g), np.maximum(r, g)
    v_min, v_max = np.minimum(low, b), np.maximum(high, b)
    v_mid = np.maximum(low, np.minimum(high, b))  # the median of the three
    span = v_max - v_min
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(span > 0, (v_mid - v_min) / span, np.float32(0))
    ratio = np.where(category % 2 == 0, ratio, 1 - ratio)
    hue = np.where(span > 0, category.astype(np.float32) + ratio, np.float32(0))
    hue = hue + np.float32(delta) * np.float32(6)
    hue = np.where(hue < 0, hue + 6, hue)
    hue = np.where(hue >= 6, hue - 6, hue).astype(np.float32)
    sector = np.minimum(np.floor(hue), np.float32(5))
    ratio = hue - sector
    sector = sector.astype(np.int64)
    ratio = np.where(sector % 2 == 0, ratio, 1 - ratio)
    v_mid = v_min + ratio * span
    # Which of (max, mid, min) each of R, G, B takes in every sector.
    order = np.array([[0, 1, 2], [1, 0, 2], [2, 0, 1], [2, 1, 0], [1, 2, 0], [0, 2, 1]])
    values = np.stack([v_max, v_mid, v_min], axis=-1)
    return np.take_along_axis(values, order[sector], axis=-1).astype(np.float32, copy=False)


def color_jitter(image, draws, strength=0.2, grayscale_probability=0.0):
    """`keras_reid.data.augmentation.color_jitter` in NumPy, on given uniform draws.

    Brightness, contrast and saturation factors U(1-s, 1+s), a hue shift U(-s/4, s/4) of a
    turn (in that order, clipped to 0–255 after each step), then grey with probability
    `grayscale_probability`: the `tf.data` version's operations, with the randomness passed in.

    Args:
        image: `(H, W, 3)` float image, values 0–255.
        draws: 5 uniforms in [0, 1): brightness, contrast, saturation, hue, grey.
        strength: `s` (0 = no colour change).
        grayscale_probability: probability of replacing the image by its grey level.

    Returns:
        The float32 `(H, W, 3)` image.

    Example:
    >>> import numpy as np
    >>> image = np.full((4, 2, 3), 128.0)
    >>> color_jitter(image, [0.9, 0.5, 0.5, 0.5, 0.0], 0.3).shape
    (4, 2, 3)
    >>> bool((color_jitter(image, [0.5] * 5, 0.0, 1.0) == 128.0).all())  # grey stays grey
    True
    """
    image = np.asarray(image, np.float32)
    draws = np.asarray(draws, np.float32)
    if strength:
        low, high = np.float32(max(0.0, 1.0 - strength)), np.float32(1.0 + strength)
        factors = low + draws[:3] * (high - low)
        image = np.clip(image * factors[0], 0, 255)
        grey_mean = (image @ LUMA).mean(dtype=np.float32)
        image = np.clip((image - grey_mean) * factors[1] + grey_mean, 0, 255)
        grey = (image @ LUMA)[..., None]
        image = np.clip((image - grey) * factors[2] + grey, 0, 255)
        delta = np.float32(-strength / 4.0) + draws[3] * np.float32(strength / 2.0)
        image = np.clip(adjust_hue(image / np.float32(255), delta) * np.float32(255), 0, 255)
    if grayscale_probability and draws[4] < grayscale_probability:
        image = np.repeat((image @ LUMA)[..., None], 3, axis=-1)
    return image.astype(np.float32, copy=False)


def random_erasing(image, draws, areas, ratios, probability=0.5, area=(0.02, 0.4), aspect=0.3, fill=IMAGENET_MEAN):
    """torchreid's `RandomErasing` on one `(H, W, C)` image, in NumPy, on given uniform draws.

    `keras_reid.data.augmentation.torchreid_random_erasing` with the randomness passed in:
    applied when the first draw is `<= probability`; up to `len(areas)` attempts draw an area
    fraction U(area) and an aspect ratio U(aspect, 1/aspect), `h = round(sqrt(area·ratio))`,
    `w = round(sqrt(area/ratio))`, and the first with `h < H` and `w < W` is placed uniformly
    and filled with `fill` (torchreid erases after normalisation with the mean values).

    Args:
        image: `(H, W, C)` float image.
        draws: 3 uniforms in [0, 1): apply, top, left.
        areas, ratios: one uniform in [0, 1) per attempt each (torchreid makes 100).
        probability, area, aspect: torchreid's `probability`, `(sl, sh)` and `r1`.
        fill: the `C` values of the erased rectangle.

    Returns:
        The image with one rectangle filled, or the image itself when nothing is erased.

    Example:
    >>> import numpy as np
    >>> out = random_erasing(np.zeros((8, 4, 3), "float32"), [0.1, 0.5, 0.5], [0.9] * 100, [0.5] * 100)
    >>> int((out[..., 0] == np.float32(0.485)).sum())  # area 0.362·32, ratio 1.82: a 5 × 3 rectangle
    15
    """
    height, width = image.shape[:2]
    if not draws[0] <= probability:
        return image
    low, high = np.float32(area[0]), np.float32(area[1])
    target = (low + np.asarray(areas, np.float32) * (high - low)) * np.float32(height * width)
    ratio = np.float32(aspect) + np.asarray(ratios, np.float32) * (np.float32(1.0 / aspect) - np.float32(aspect))
    h = np.round(np.sqrt(target * ratio)).astype(np.int64)
    w = np.round(np.sqrt(target / ratio)).astype(np.int64)
    valid = (w < width) & (h < height)
    if not valid.any():
        return image
    h0, w0 = int(h[valid.argmax()]), int(w[valid.argmax()])
    top = min(int(np.float32(draws[1]) * np.float32(height - h0 + 1)), height - h0)
    left = min(int(np.float32(draws[2]) * np.float32(width - w0 + 1)), width - w0)
    out = np.array(image, copy=True)
    out[top : top + h0, left : left + w0] = np.asarray(fill, out.dtype)
    return out


class NumpyTrainStream(keras.utils.PyDataset):
    """The batches of `numpy_train_dataset` (which documents them); `close()` stops its threads."""

    def __init__(self, records, recipe, preprocessor, seed, steps_per_epoch, first_epoch, last_epoch, domains=None, workers=None, prefetch=2):
        # One Keras worker: the batches are read in order (see the module docstring).
        super().__init__(workers=1, use_multiprocessing=False)
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}.")
        self.paths = [r.path for r in records]
        self.labels = np.asarray([r.pid for r in records], np.int32)
        self.recipe = recipe
        self.image_size = tuple(int(s) for s in preprocessor.image_size)
        self.interpolation = preprocessor.interpolation
        self.mean = np.asarray(preprocessor.mean, np.float32)
        self.std = np.asarray(preprocessor.std, np.float32)
        self.seed = int(seed)
        self.steps_per_epoch = int(steps_per_epoch)
        self.first_epoch, self.last_epoch = int(first_epoch), int(last_epoch)
        self.domains = domains
        self.threads = min(8, os.cpu_count() or 1) if workers is None else int(workers)
        self.prefetch = int(prefetch)
        self._pool = None
        self._pending = {}
        self._epochs = {}
        self._lock = threading.Lock()

    def __len__(self):
        return max(0, self.last_epoch - self.first_epoch) * self.steps_per_epoch

    def epoch_indices(self, epoch):
        """Image indices of `epoch` (`training_stream.epoch_indices`), cached for two epochs."""
        if epoch not in self._epochs:
            pids = [int(p) for p in self.labels]
            self._epochs = {k: v for k, v in self._epochs.items() if k == epoch - 1}
            self._epochs[epoch] = epoch_indices(pids, self.recipe, self.seed, epoch, self.steps_per_epoch, self.domains)
        return self._epochs[epoch]

    def batch_items(self, index):
        """`(image indices, global sample indices)` of batch `index` (0 = first step of `first_epoch`)."""
        epoch, step = divmod(int(index), self.steps_per_epoch)
        epoch += self.first_epoch
        size = self.recipe.batch_size
        images = self.epoch_indices(epoch)[step * size : (step + 1) * size]
        samples = (epoch * self.steps_per_epoch + step) * size + np.arange(size, dtype=np.int64)
        return images, samples

    def sample(self, index, sample):
        """Image `index` decoded, resized and augmented as global sample `sample`."""
        recipe = self.recipe
        height, width = self.image_size
        image = resize_image(read_image(self.paths[index]), self.image_size, self.interpolation)
        rng = np.random.default_rng([self.seed, int(sample)])
        draws = rng.random(_NUM_DRAWS, dtype=np.float32)
        areas, ratios = rng.random((2, ERASE_ATTEMPTS), dtype=np.float32)
        if recipe.flip and draws[_FLIP] < 0.5:
            image = image[:, ::-1]
        if recipe.crop_pad:
            pad = int(recipe.crop_pad)
            image = np.pad(image, ((pad, pad), (pad, pad), (0, 0)))
            top, left = (min(int(u * np.float32(2 * pad + 1)), 2 * pad) for u in draws[_CROP])
            image = image[top : top + height, left : left + width]
        if recipe.color_jitter or recipe.random_grayscale:
            image = color_jitter(image, draws[_COLOUR], recipe.color_jitter, recipe.random_grayscale)
        image = (image / np.float32(255) - self.mean) / self.std
        if recipe.random_erasing:
            image = random_erasing(image, draws[_ERASE], areas, ratios, 0.5, tuple(recipe.erase_area), 0.3, fill=self.mean)
        return np.ascontiguousarray(image, np.float32)

    def _submit(self, index):
        images, samples = self.batch_items(index)
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="keras_reid_stream")
        return images, [self._pool.submit(self.sample, i, s) for i, s in zip(images, samples)]

    def __getitem__(self, index):
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of a stream of {len(self)} batches")
        if self.threads < 1:
            images, samples = self.batch_items(index)
            return np.stack([self.sample(i, s) for i, s in zip(images, samples)]), self.labels[images]
        with self._lock:
            for ahead in range(index, min(index + self.prefetch + 1, len(self))):
                if ahead not in self._pending:
                    self._pending[ahead] = self._submit(ahead)
            images, futures = self._pending.pop(index)
            for stale in [k for k in self._pending if k < index]:
                for future in self._pending.pop(stale)[1]:
                    future.cancel()
        return np.stack([f.result() for f in futures]), self.labels[images]

    def close(self):
        """Stops the decoding threads (the stream can still be read afterwards, restarting them)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            pool, self._pool = self._pool, None
        for _, futures in pending.values():
            for future in futures:
                future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def numpy_train_dataset(records, recipe, preprocessor, seed, steps_per_epoch, first_epoch, last_epoch, domains=None, workers=None, prefetch=2):
    """The trainer's training batches of epochs `[first_epoch, last_epoch)`, without TensorFlow.

    The NumPy twin of `keras_reid.data.training_stream.train_dataset`: the same images in the
    same order, decoded and resized the same way, with the same augmentation distributions
    drawn from NumPy generators (see the module docstring for what is equal and what is
    not). Stateless in `(seed, epoch)`, so a resumed run reads exactly the batches of the
    straight run. `keras_reid.training.train(input_pipeline="numpy")` uses it.

    Args:
        records: the training split (`ReIDDataset.train`), pids relabelled 0..n-1.
        recipe: a `keras_reid.training.Recipe` (sampler, batch size and augmentation fields).
        preprocessor: a `ReIDPreprocessor` (image size, interpolation, mean/std).
        seed: non-negative integer seed of the sampler and the augmentation.
        steps_per_epoch: batches per epoch.
        first_epoch, last_epoch: the epochs streamed, `[first_epoch, last_epoch)`.
        domains: source index of every image (`ReIDDataset.train_domains`), used when
            `recipe.domain_batches` is set.
        workers: decoding threads (default `min(8, os.cpu_count())`; 0 decodes in the
            calling thread).
        prefetch: batches prepared ahead of the one read.

    Returns:
        A `keras.utils.PyDataset` of `(last_epoch - first_epoch) × steps_per_epoch` batches
        `(images, labels)`: float32 `(batch_size, H, W, 3)` normalised images and int32
        `(batch_size,)` pids. Pass it to `model.fit(..., steps_per_epoch=steps_per_epoch,
        shuffle=False)`; `close()` stops its threads.

    Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from keras_reid.data import ImageRecord
    >>> from keras_reid.presets import ReIDPreprocessor
    >>> from keras_reid.training.recipes import Recipe
    >>> folder = tempfile.mkdtemp()
    >>> records = []
    >>> for i in range(8):
    ...     path = os.path.join(folder, f"{i}.png")
    ...     Image.fromarray(np.full((96, 48, 3), 30 * i, "uint8")).save(path)
    ...     records.append(ImageRecord(path, i // 2, 0))
    >>> recipe = Recipe("demo", "resnet50", image_size=(64, 32), batch_size=4)
    >>> ds = numpy_train_dataset(records, recipe, ReIDPreprocessor((64, 32)), seed=0,
    ...                          steps_per_epoch=2, first_epoch=0, last_epoch=3)
    >>> len(ds)
    6
    >>> images, labels = ds[0]
    >>> images.shape, labels.dtype
    ((4, 64, 32, 3), dtype('int32'))
    >>> ds.close()
    """
    return NumpyTrainStream(records, recipe, preprocessor, seed, steps_per_epoch, first_epoch, last_epoch, domains, workers, prefetch)
