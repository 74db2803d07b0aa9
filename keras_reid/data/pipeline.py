"""`tf.data` input pipelines: robust image decoding, P×K training batches, ordered eval batches.

The pipelines yield NumPy-convertible tensors, so they serve every Keras backend: pass the
dataset to `model.fit` directly, or iterate `ds.as_numpy_iterator()`.

Images are decoded by `keras_reid.utils.images.read_image` (Pillow, through
`tf.numpy_function`), the reader inference uses too, into 3-channel RGB uint8: EXIF
orientation applied; grayscale, grayscale+alpha, palette, RGBA (alpha dropped, as PIL's
`convert("RGB")`, like torchreid's `read_image`), CMYK and 16-bit images (scaled 0–65535 →
0–255) are all handled. Truncated or unreadable files raise `ImageDecodeError` naming the file when decoded;
`verify_images()` scans a list of files ahead of training. Images are then resized like
`ReIDPreprocessor.resize` (`tf.image.resize`, the preprocessor's interpolation, bilinear by
default, no antialiasing) and normalised with its mean/std.

TensorFlow is imported when a dataset is built, not with the module: `load_image`,
`verify_images` and `steps_per_epoch` serve programs without TensorFlow (the trainer's
`keras_reid.data.numpy_stream` input).
"""

import logging

import numpy as np

from keras_reid.data.base import ImageRecord
from keras_reid.data.sampler import RandomIdentitySampler
from keras_reid.presets.preprocessor import ReIDPreprocessor
from keras_reid.utils.images import ImageReadError, read_image

logger = logging.getLogger("keras_reid.data")

# `tf.data.AUTOTUNE`, spelled out so that the module imports without TensorFlow.
AUTOTUNE = -1


# One image reader for training, evaluation and inference (keras_reid.utils.images): the
# pipelines see a file exactly as FeatureExtractor does (EXIF orientation included).
ImageDecodeError = ImageReadError


def load_image(path):
    """Reads `path` into a `(H, W, 3)` RGB uint8 array with `keras_reid.utils.images.read_image`.

    Accepts the bytes `tf.numpy_function` passes.

    Raises:
        ImageDecodeError: (`ImageReadError`) the file is missing, truncated or not a decodable image.
    """
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    return read_image(path)


def verify_images(paths):
    """Decodes every file of `paths` (paths or `ImageRecord`s) and reports the bad ones.

    Returns:
        A list of `(path, reason)` for the files that cannot be decoded (empty if all are fine).
    """
    import concurrent.futures
    import os

    def check(item):
        path = item.path if isinstance(item, ImageRecord) else str(item)
        try:
            load_image(path)
        except ImageDecodeError as e:
            return path, str(e)
        return None

    # Pillow releases the GIL while decoding: a few threads make the scan I/O- and CPU-parallel.
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        bad = [r for r in pool.map(check, paths, chunksize=64) if r is not None]
    if bad:
        logger.warning("verify_images: %d of %d image(s) cannot be decoded (e.g. %s).", len(bad), len(paths), bad[0][0])
    return bad


def _resolve_preprocessor(preprocessor, image_size):
    if preprocessor is None:
        return ReIDPreprocessor(image_size or (256, 128))
    if image_size is not None and tuple(image_size) != preprocessor.image_size:
        raise ValueError(f"image_size {image_size} differs from the preprocessor's {preprocessor.image_size}.")
    return preprocessor


def _decode_and_resize(path, image_size, interpolation):
    import tensorflow as tf

    image = tf.numpy_function(load_image, [path], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return tf.image.resize(tf.cast(image, tf.float32), image_size, method=interpolation, antialias=False)


def _records_arrays(records):
    import tensorflow as tf

    records = [ImageRecord(*r) for r in records]
    if not records:
        raise ValueError("The split has no images.")
    paths = tf.constant([r.path for r in records])
    pids = tf.constant([r.pid for r in records], tf.int32)
    camids = tf.constant([r.camid for r in records], tf.int32)
    return records, paths, pids, camids


def train_dataset(
    records,
    preprocessor=None,
    image_size=None,
    num_identities=16,
    num_instances=4,
    sampler="identity",
    batch_size=None,
    augmentation=True,
    seed=None,
    epochs=None,
    num_parallel_calls=AUTOTUNE,
):
    """A training `tf.data.Dataset` of `(images, pids)` batches.

    Images are float32 `(B, H, W, 3)` normalised by the preprocessor; pids int32 `(B,)`.

    Args:
        records: the training split (`ReIDDataset.train`), pids relabelled 0..n-1.
        preprocessor: a `ReIDPreprocessor` (image size, interpolation, mean/std); default
            `ReIDPreprocessor(image_size or (256, 128))`.
        image_size: `(H, W)` when no preprocessor is given.
        num_identities, num_instances: P and K of the identity-balanced sampler
            (batch size P×K; see `RandomIdentitySampler`).
        sampler: "identity" (P×K) or "random" (shuffled, `batch_size` images).
        batch_size: batch size of the "random" sampler.
        augmentation: True (default `ReIDAugmentation`), False/None, or a `ReIDAugmentation`.
        seed: integer seed: with it, two pipelines built alike give identical batches
            (sampling order, augmentation and parallel decoding are all deterministic).
        epochs: number of sampler epochs, None for an endless dataset (give `fit` a
            `steps_per_epoch`, e.g. `steps_per_epoch(...)`). Every epoch re-samples.
        num_parallel_calls: decoding parallelism (default `AUTOTUNE`, i.e. `tf.data.AUTOTUNE`).

    Example:
    >>> # ds = train_dataset(get_dataset("market1501", root).train, ReIDPreprocessor((256, 128)), seed=0)
    >>> # model.fit(ds, steps_per_epoch=steps_per_epoch(train, 16, 4), epochs=60)
    """
    import tensorflow as tf

    from keras_reid.data.augmentation import ReIDAugmentation, normalize

    pre = _resolve_preprocessor(preprocessor, image_size)
    records, paths, pids, _ = _records_arrays(records)
    if seed is None:
        seed_value = int(np.random.SeedSequence().entropy % (2**31))
    else:
        seed_value = int(seed)
    if sampler == "identity":
        order = RandomIdentitySampler([r.pid for r in records], num_instances, num_identities, seed=seed_value)
        batch = order.batch_size
        epoch_indices = order.epoch_indices
    elif sampler == "random":
        if not batch_size:
            raise ValueError("sampler='random' needs a batch_size.")
        batch = int(batch_size)
        n = len(records)

        def epoch_indices(epoch):
            return np.random.default_rng([seed_value, int(epoch)]).permutation(n).astype(np.int64)

    else:
        raise ValueError(f"sampler must be 'identity' or 'random', got {sampler!r}.")

    def indices_of_epoch(epoch):
        idx = tf.numpy_function(epoch_indices, [epoch], tf.int64, stateful=False)
        idx.set_shape([None])
        return tf.data.Dataset.from_tensor_slices(idx)

    epochs_ds = tf.data.Dataset.counter() if epochs is None else tf.data.Dataset.range(int(epochs))
    ds = epochs_ds.flat_map(indices_of_epoch).enumerate()
    deterministic = True if seed is not None else None

    def load(counter, index):
        image = _decode_and_resize(tf.gather(paths, index), pre.image_size, pre.interpolation)
        return counter, image, tf.gather(pids, index)

    ds = ds.map(load, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    if augmentation is True:
        augmentation = ReIDAugmentation(pre.image_size, pre.mean, pre.std, seed=seed)
    if augmentation:
        aug = augmentation
        # Sequential on purpose: the Keras layers' seed generators then advance in order.
        ds = ds.map(lambda c, image, pid: (aug(image, c), pid))
    else:
        ds = ds.map(lambda c, image, pid: (normalize(image, pre.mean, pre.std), pid))
    ds = ds.batch(batch, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(records, num_identities=16, num_instances=4):
    """Batches in one P×K sampler epoch (torchreid's epoch length, an upper bound)."""
    sampler = RandomIdentitySampler([ImageRecord(*r).pid for r in records], num_instances, num_identities, seed=0)
    return max(1, len(sampler) // sampler.batch_size)


def eval_dataset(records, preprocessor=None, image_size=None, batch_size=64, num_parallel_calls=AUTOTUNE):
    """An ordered evaluation dataset (query or gallery): no augmentation, every image once.

    Yields dicts `{"images": (B, H, W, 3) float32, "pids": int32, "camids": int32,
    "paths": string}` in the order of `records` (the last batch may be smaller).

    Example:
    >>> # feats = [model.predict_on_batch(b["images"]) for b in eval_dataset(ds.query).as_numpy_iterator()]
    """
    import tensorflow as tf

    from keras_reid.data.augmentation import normalize

    pre = _resolve_preprocessor(preprocessor, image_size)
    _, paths, pids, camids = _records_arrays(records)
    ds = tf.data.Dataset.from_tensor_slices({"paths": paths, "pids": pids, "camids": camids})

    def load(item):
        image = _decode_and_resize(item["paths"], pre.image_size, pre.interpolation)
        return {"images": normalize(image, pre.mean, pre.std), **item}

    ds = ds.map(load, num_parallel_calls=num_parallel_calls, deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
