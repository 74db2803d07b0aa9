"""`keras_reid.FeatureExtractor`: L2-normalised embeddings for new images in one call.

The torchreid/fast-reid question "how do I get features for my own images?" (torchreid
#85, #236, #401; fast-reid #643) answered once: give a preset (or a model) and images in
any common form, get a float32 `(N, D)` NumPy array of L2-normalised embeddings (the
model's inference output, the feature torchreid's and fast-reid's evaluators use).
"""

import functools
import logging
import os
import sys
import time

import numpy as np

# The image helpers live in keras_reid.utils.images; imported here for compatibility.
from keras_reid.utils.images import IMAGE_EXTENSIONS, ImageReadError, is_image_file, list_images, read_image  # noqa: F401
from keras_reid.utils.images import resize_image

logger = logging.getLogger("keras_reid")


@functools.lru_cache(maxsize=None)
def _tensorflow():
    """TensorFlow, or None where it is not installed (JAX or PyTorch machines): asked once."""
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return tf


def _finite_l2_normalize(x):
    """Row-wise L2 normalisation; zero rows stay zero, rows with non-finite values become 0 rows."""
    from keras_reid.evaluation.distance import l2_normalize

    x = np.asarray(x, dtype=np.float64)  # the norm in float64: no overflow, no extra rounding
    finite = np.all(np.isfinite(x), axis=-1, keepdims=True)
    return l2_normalize(np.where(finite, x, 0.0)).astype(np.float32)


class _Progress:
    """A small text progress bar on stderr (only on a terminal, or when forced)."""

    def __init__(self, total, enabled, label="images"):
        self.total = total
        self.enabled = enabled
        self.label = label
        self.start = time.time()
        self.tty = sys.stderr.isatty()
        self.last_line = -1.0
        self.finished = False

    def update(self, done):
        if not self.enabled or self.finished:
            return
        self.finished = done >= self.total
        elapsed = time.time() - self.start
        if self.tty:
            width = 30
            filled = int(width * done / max(self.total, 1))
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (self.total - done) / rate if rate > 0 else 0.0
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {self.label} "
                f"{elapsed:.0f}s elapsed, ETA {eta:.0f}s "
            )
            if done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif done >= self.total or elapsed - self.last_line >= 10.0:
            # Not a terminal (logs, CI): one line at most every 10 s.
            self.last_line = elapsed
            sys.stderr.write(f"{done}/{self.total} {self.label} ({elapsed:.0f}s)\n")
            sys.stderr.flush()


class FeatureExtractor:
    """Embeds images with a ReID model: paths, folders, PIL images or arrays in, `(N, D)` out.

    Images are decoded with Pillow (EXIF orientation applied; grayscale, RGBA, palette,
    CMYK and 16-bit images converted to 8-bit RGB), each resized as soon as it is
    decoded, normalised with the model's own settings (an end-to-end model's
    `ImagePreprocessing`, what `keras_reid.load` returns; else a `ReIDPreprocessor`: the
    model's `image_shape` with ImageNet statistics), run through the model's network in
    batches (inference mode: the embedding of the model contract) and L2-normalised. With
    `flip=True` each image is also embedded mirrored left-right and the two raw
    embeddings are averaged before the normalisation (fast-reid's flip test).

    Args:
        model_or_handle: a `keras_reid.ReIDModel` or anything `keras_reid.load` accepts
            (built-in preset name, `hf://ORG/REPO`, preset folder, `.keras` file).
        batch_size: images per forward pass.
        flip: test-time augmentation with the horizontal flip.
        preprocessor: a `keras_reid.ReIDPreprocessor` for a bare model (one without
            preprocessing); an end-to-end model uses its own.
        verbose: "auto" (a progress bar on stderr when more than one batch is run and
            stderr is a terminal, else at most a line every 10 s), True, or False.
        on_error: "raise" (default): an unreadable file raises `ImageReadError` naming
            it; "skip": it is skipped with a warning and `__call__` returns
            `(embeddings, kept)`, the inputs that were embedded.
        num_workers: threads that decode and resize images ahead of the model (overlapping
            reading with the forward pass); None: `min(4, cpu_count - 1)` (at least 1), 0: decode inline.
        normalize: L2-normalise the embeddings (default). False returns a bare model's
            raw embeddings (torchreid's evaluation without `normalize_feature`); an
            end-to-end model's own output is already normalised.
        fold_batch_norm: run the network with each BatchNorm folded into the conv before
            it (`keras_reid.utils.batch_norm_folding.fold_batch_norm`; default): the same embeddings to
            float32 rounding, faster on CPU (MobileNetV2 about 1.8×). The folded layers
            read the model's variables on every call, so they follow fine-tuning. False
            runs the model's own layers.

    Call it on: a list of image paths, PIL images or uint8 `(H, W, 3)` arrays (mixed
    is fine), a uint8 `(N, H, W, 3)` array, a single path/image, or a folder path
    (its image files, recursively, in sorted order; other files are skipped and
    counted in one log line). `extractor.last_paths` holds the file paths of the last
    call (for folders). Returns float32 `(N, D)` embeddings with unit L2 norm (an
    all-zero or non-finite embedding is returned as zeros rather than NaN).

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
    >>> extractor = keras_reid.FeatureExtractor(model, flip=True)
    >>> extractor(np.zeros((2, 100, 50, 3), "uint8")).shape
    (2, 512)
    """

    def __init__(
        self,
        model_or_handle,
        batch_size=32,
        flip=False,
        preprocessor=None,
        verbose="auto",
        on_error="raise",
        num_workers=None,
        normalize=True,
        fold_batch_norm=True,
    ):
        import keras

        if isinstance(model_or_handle, keras.Model):
            model = model_or_handle
        else:
            from keras_reid.presets.loader import load

            model = load(model_or_handle)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
        self.model = model
        self.batch_size = int(batch_size)
        self.flip = bool(flip)
        self.verbose = verbose
        self.on_error = on_error
        layer = getattr(model, "preprocessing", None)
        # The network of an end-to-end model (what keras_reid.load returns) runs on inputs
        # preprocessed with the model's own settings, so that the flip test averages raw
        # embeddings and `normalize=False` returns them, as for a bare model.
        self._network = model
        if layer is not None:
            own = layer.to_preprocessor()
            if preprocessor is not None and preprocessor != own:
                raise ValueError(
                    f"The model carries its own preprocessing ({own.get_config()}); to use another preprocessor, "
                    "load it with keras_reid.load(..., include_preprocessing=False)."
                )
            preprocessor = own
        network = getattr(model, "network", None)
        if isinstance(getattr(network, "output", None), dict):
            # The contract's embedding output of the functional network (a bare model's
            # own output is that embedding, cast to float32, which _forward does too).
            self._network = keras.Model(network.input, network.output["embedding"], name=f"{model.name}_network")
        if fold_batch_norm and hasattr(self._network, "_nodes"):
            from keras_reid.utils.batch_norm_folding import fold_batch_norm as fold

            self._network = fold(self._network)
        self.preprocessor = preprocessor or getattr(model, "preprocessor", None) or self._default_preprocessor(model)
        expected = self._model_image_size(model)
        if expected is not None and tuple(self.preprocessor.image_size) != expected:
            raise ValueError(
                f"The preprocessor resizes to {tuple(self.preprocessor.image_size)} but the model "
                f"expects {expected} inputs."
            )
        if num_workers is None:
            # One core stays with the model: on 2 cores, 1 decode thread beat 2 (and 4) in
            # benchmarks/extraction_speed.py (less oversubscription of the model's threads).
            num_workers = min(4, max(1, (os.cpu_count() or 1) - 1))
        if int(num_workers) < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}.")
        self.num_workers = int(num_workers)
        self.normalize = bool(normalize)
        self.last_paths = None

    @staticmethod
    def _model_image_size(model):
        shape = getattr(model, "image_shape", None)
        if shape is None:
            try:
                shape = tuple(model.input_shape[1:])
            except (AttributeError, ValueError):
                return None
        if len(shape) < 2 or shape[0] is None or shape[1] is None:
            return None
        return (int(shape[0]), int(shape[1]))

    @classmethod
    def _default_preprocessor(cls, model):
        from keras_reid.presets.preprocessor import ReIDPreprocessor

        size = cls._model_image_size(model)
        if size is None:
            raise ValueError("The model has no fixed input size: pass preprocessor=ReIDPreprocessor(...).")
        return ReIDPreprocessor(size)

    @property
    def embedding_dim(self):
        dim = getattr(self.model, "embedding_dim", None)
        return int(dim) if dim is not None else int(self.model.output_shape[-1])

    # -- inputs -----------------------------------------------------------------------
    def _items(self, inputs):
        """Normalises `inputs` into a list of `(item, name)` pairs (nothing decoded yet)."""
        from PIL import Image

        if isinstance(inputs, (str, os.PathLike)):
            path = os.fspath(inputs)
            if os.path.isdir(path):
                paths, _ = list_images(path)
                if not paths:
                    raise ImageReadError(f"no image files in folder {path}")
                return [(p, p) for p in paths]
            return [(path, path)]
        if isinstance(inputs, Image.Image):
            return [(inputs, "image 0")]
        if isinstance(inputs, np.ndarray):
            if inputs.ndim == 4:
                return [(inputs[i], f"image {i}") for i in range(inputs.shape[0])]
            if inputs.ndim in (2, 3):
                return [(inputs, "image 0")]
            raise ImageReadError(f"expected (N, H, W, 3) or (H, W, 3) uint8 arrays, got shape {inputs.shape}.")
        try:
            items = list(inputs)
        except TypeError:
            raise ImageReadError(f"unsupported input type {type(inputs).__name__}.") from None
        out = []
        for i, item in enumerate(items):
            if isinstance(item, (str, os.PathLike)):
                out.append((os.fspath(item), os.fspath(item)))
            else:
                out.append((item, f"image {i}"))
        return out

    def _fit(self, image):
        """One decoded uint8 image → float32 `(H, W, 3)` at the model's size (0–255 values).

        Each image is resized as soon as it is decoded, so a batch never holds full-size
        images and peak memory does not grow with the inputs' size or number. The
        resize is the preprocessor's (`tf.image.resize`, same method, no antialiasing; for
        bilinear and nearest, the kernel op it runs, called directly) applied to the
        uint8 pixels directly: the kernel reads them as floats, so the
        result equals resizing the float32 copy, without making that 4× larger copy.
        Without TensorFlow, `keras_reid.utils.images.resize_image` computes the same kernel
        in NumPy (bilinear and nearest agree bit for bit).
        """
        size = tuple(self.preprocessor.image_size)
        if tuple(image.shape[:2]) == size:
            return image.astype("float32")
        tf = _tensorflow()
        if tf is None:
            return resize_image(image, size, self.preprocessor.interpolation)
        method = self.preprocessor.interpolation
        # Bilinear and nearest call the kernel `tf.image.resize` runs for them (half-pixel
        # centres) as one op: the same pixels without the wrapper's extra eager ops.
        if method == "bilinear":
            return tf.raw_ops.ResizeBilinear(images=image[None], size=size, half_pixel_centers=True).numpy()[0]
        if method == "nearest":
            out = tf.raw_ops.ResizeNearestNeighbor(images=image[None], size=size, half_pixel_centers=True)
            return out.numpy()[0].astype("float32")
        out = tf.image.resize(image[None], size, method=method, antialias=False)
        return np.asarray(out.numpy()[0], dtype="float32")

    def _preprocess(self, images):
        """Images already at the model's size (see `_fit`) → one normalised float32 batch."""
        return np.asarray(self.preprocessor.normalize(np.stack(images)), dtype="float32")

    def _forward(self, batch, compiled=False):
        import keras

        n = batch.shape[0]
        if self.flip:
            batch = np.concatenate([batch, batch[:, :, ::-1, :]], axis=0)
        if compiled:
            # Many batches: the compiled predict step, on fixed-size (padded) batches so
            # that it is traced once.
            size = self.batch_size * (2 if self.flip else 1)
            padded = batch
            if batch.shape[0] < size:
                pad = np.zeros((size - batch.shape[0],) + batch.shape[1:], batch.dtype)
                padded = np.concatenate([batch, pad])
            out = self._network.predict_on_batch(padded)[: batch.shape[0]]
        else:
            out = self._network(batch, training=False)
        out = keras.ops.convert_to_numpy(out)
        out = np.asarray(out, dtype=np.float32).reshape(out.shape[0], -1)
        if self.flip:
            out = 0.5 * (out[:n] + out[n:])
        return out

    def _decode_one(self, item, name):
        try:
            return self._fit(read_image(item, name))
        except ImageReadError as e:
            return e

    def _decoded(self, items):
        """Yields `(name, image or ImageReadError)` in input order.

        With more than one batch, worker threads decode and resize up to two batches ahead
        while the model runs (Pillow and TensorFlow release the GIL), so reading overlaps
        the forward pass; the look-ahead bounds memory to about three batches of images
        at the model's size.
        """
        if len(items) <= self.batch_size or self.num_workers < 1:
            for item, name in items:
                yield name, self._decode_one(item, name)
            return
        import collections
        import itertools
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.num_workers, thread_name_prefix="keras_reid_decode") as pool:
            iterator = iter(items)

            def submit(count):
                return [(name, pool.submit(self._decode_one, item, name)) for item, name in itertools.islice(iterator, count)]

            pending = collections.deque(submit(2 * self.batch_size))
            while pending:
                name, future = pending.popleft()
                pending.extend(submit(1))
                yield name, future.result()

    # -- main entry -------------------------------------------------------------------
    def __call__(self, inputs, on_error=None):
        """Embeds `inputs` (see the class docstring); returns `(N, D)` float32 or, with
        `on_error="skip"`, `(embeddings, kept)` where `kept` lists the embedded inputs'
        names (file paths, or "image i" for in-memory images)."""
        on_error = on_error or self.on_error
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
        items = self._items(inputs)
        self.last_paths = [name for item, name in items if isinstance(item, str)]
        total = len(items)
        num_batches = -(-total // self.batch_size)
        show = self.verbose is True or (self.verbose == "auto" and num_batches > 1)
        progress = _Progress(total, show)
        outputs, kept, skipped = [], [], []
        images, names = [], []

        def flush():
            if images:
                outputs.append(self._forward(self._preprocess(images), compiled=num_batches > 2))
                kept.extend(names)
                images.clear()
                names.clear()

        for done, (name, result) in enumerate(self._decoded(items), start=1):
            if isinstance(result, ImageReadError):
                if on_error == "raise":
                    raise result
                skipped.append(name)
                logger.warning("Skipping %s", result)
            else:
                images.append(result)
                names.append(name)
            if len(images) == self.batch_size:
                flush()
                progress.update(done)
        flush()
        progress.update(total)
        if skipped:
            logger.warning("Skipped %d unreadable image(s) of %d (e.g. %s).", len(skipped), total, skipped[0])
        if outputs:
            embeddings = np.concatenate(outputs)
            embeddings = _finite_l2_normalize(embeddings) if self.normalize else embeddings.astype(np.float32)
        else:
            embeddings = np.zeros((0, self.embedding_dim), np.float32)
        bad = int(np.sum(~np.any(embeddings != 0, axis=-1))) if len(embeddings) else 0
        if bad:
            logger.warning("%d embedding(s) are zero or non-finite (returned as zero vectors).", bad)
        if on_error == "skip":
            known = set(self.last_paths)
            self.last_paths = [n for n in kept if n in known]
            return embeddings, kept
        return embeddings

    def __repr__(self):
        return (
            f"FeatureExtractor(model={self.model.name!r}, embedding_dim={self.embedding_dim}, "
            f"batch_size={self.batch_size}, flip={self.flip}, preprocessor={self.preprocessor!r})"
        )
