"""The one image module of keras_reid: listing image files and decoding them to RGB uint8.

Training (`keras_reid.data` pipelines), evaluation and inference (`FeatureExtractor`, the CLI)
all read images with `read_image`, so a file is seen the same way everywhere: EXIF
orientation applied; grayscale, RGBA (alpha dropped), palette, CMYK and 16-bit images
converted to 8-bit RGB; a missing, truncated or non-image file raises one
`ImageReadError` line naming it. `resize_image` is `tf.image.resize` in NumPy, for
programs without TensorFlow.
"""

import functools
import logging
import os

import numpy as np

logger = logging.getLogger("keras_reid")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageReadError(ValueError):
    """An input that cannot be turned into an RGB image (missing, truncated, not an image)."""


def is_image_file(name):
    """Whether `name` has an image extension (hidden files excluded)."""
    base = os.path.basename(name)
    return base.lower().endswith(IMAGE_EXTENSIONS) and not base.startswith(".")


def list_images(folder, log=True, recursive=True):
    """Sorted listing of the image files under `folder` (recursive unless `recursive=False`).

    Hidden files and folders are left out. Returns `(paths, num_skipped)`; non-image
    files are skipped and counted in one log line (unless `log=False`).
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"No such folder: {folder}")
    images, skipped = [], []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        for name in files:
            (images if is_image_file(name) else skipped).append(os.path.join(root, name))
    if skipped and log:
        examples = ", ".join(os.path.basename(p) for p in sorted(skipped)[:3])
        logger.warning("Skipped %d non-image file(s) in %s (e.g. %s).", len(skipped), folder, examples)
    return sorted(images), len(skipped)


def _pil_to_rgb(img, owned=False):
    """A PIL image (any mode) → `(H, W, 3)` uint8, after EXIF orientation.

    `owned=True` (an image this module opened) lets the orientation be applied in place.
    """
    from PIL import ImageOps

    img.load()
    try:
        # In place: a transposed copy (or, without an orientation tag, a plain copy) would
        # double the memory a huge image takes.
        if owned:
            ImageOps.exif_transpose(img, in_place=True)
        else:
            img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not make the pixels unusable
        pass
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit single channel: PIL's convert("RGB") would clip at 255; rescale instead.
        arr = np.asarray(img).astype(np.float64)
        scale = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) <= 65535 else float(arr.max())
        arr = np.clip(np.round(arr * (255.0 / scale)), 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr = arr * 255.0 if arr.max(initial=0) <= 1.0 else arr
        arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    # convert() copies even when the mode is already RGB.
    return np.asarray(img if mode == "RGB" else img.convert("RGB"), dtype=np.uint8)


def _array_to_rgb(arr, name):
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise ImageReadError(f"{name}: expected an (H, W, 3) uint8 image array, got shape {arr.shape}.")
    if arr.dtype == np.uint16:
        arr = np.clip(np.round(arr.astype(np.float64) * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
    if arr.dtype != np.uint8:
        raise ImageReadError(
            f"{name}: expected uint8 pixels (0-255), got dtype {arr.dtype}; "
            "convert with (x * 255).round().astype('uint8') if your floats are in [0, 1]."
        )
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3])


def read_image(item, name=None):
    """Turns a path, PIL image or array into an `(H, W, 3)` RGB uint8 array.

    Files are decoded with Pillow: EXIF orientation applied; grayscale, RGBA (alpha
    dropped), palette, CMYK and 16-bit images converted to 8-bit RGB.

    Raises:
        ImageReadError: one line naming the file (missing, truncated, not an image).
    """
    from PIL import Image

    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        try:
            with Image.open(path) as img:
                arr = _pil_to_rgb(img, owned=True)
        except FileNotFoundError:
            raise ImageReadError(f"cannot read image {path}: no such file") from None
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ImageReadError(f"cannot read image {path}: {reason}") from None
    elif isinstance(item, Image.Image):
        try:
            arr = _pil_to_rgb(item.copy() if item.mode == "P" else item)
        except (OSError, ValueError) as e:
            raise ImageReadError(f"cannot read {name or 'PIL image'}: {e}") from None
    elif isinstance(item, np.ndarray):
        arr = _array_to_rgb(item, name or "array")
    else:
        raise ImageReadError(
            f"{name or 'input'}: unsupported image type {type(item).__name__} "
            "(expected a path, a PIL image or a uint8 (H, W, 3) array)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageReadError(f"{name or 'image'}: empty image of shape {arr.shape}.")
    return arr


def _source_positions(out_size, in_size):
    """Half-pixel-centre source coordinates of an axis, in float32 as TensorFlow's kernels."""
    scale = np.float32(in_size) / np.float32(out_size)
    return (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale


@functools.lru_cache(maxsize=512)
def _bilinear_plan(height, width, in_h, in_w):
    """Source rows (top then bottom), columns (left then right) and lerp weights of a resize."""

    def axis(out_size, in_size):
        position = _source_positions(out_size, in_size) - np.float32(0.5)
        floor = np.floor(position)
        lower = np.maximum(floor.astype(np.int64), 0)
        upper = np.minimum(np.ceil(position).astype(np.int64), in_size - 1)
        return lower, upper, (position - floor).astype(np.float32)

    top, bottom, y_lerp = axis(height, in_h)
    left, right, x_lerp = axis(width, in_w)
    plan = (np.concatenate([top, bottom]), np.concatenate([left, right]), x_lerp[None, :, None], y_lerp[:, None, None])
    for array in plan:  # cached and shared between calls and threads
        array.flags.writeable = False
    return plan


def resize_image(image, size, interpolation="bilinear"):
    """Resizes one `(h, w, C)` image to `size = (H, W)` as `tf.image.resize(..., antialias=False)`.

    NumPy, no TensorFlow: the input stream and the feature extractor use it where TensorFlow
    is not installed. "bilinear" and "nearest" are computed in float32 with the formulas of
    TensorFlow's `ResizeBilinear` / `ResizeNearestNeighbor` kernels with half-pixel centres
    (what `tf.image.resize` runs), so they agree with it bit for bit (tested). The other
    methods ("bicubic", "area", "lanczos3", "lanczos5") go through `keras.ops.image.resize`
    on the current backend, whose kernels may differ slightly from TensorFlow's.

    Args:
        image: `(h, w, C)` array (uint8 or float).
        size: `(H, W)` of the output.
        interpolation: a `tf.image.resize` method (see above).

    Returns:
        A float32 `(H, W, C)` array (values kept in the input's range, e.g. 0-255).

    Example:
    >>> import numpy as np
    >>> resize_image(np.full((300, 100, 3), 255, "uint8"), (256, 128)).shape
    (256, 128, 3)
    """
    image = np.asarray(image)
    height, width = (int(s) for s in size)
    in_h, in_w = image.shape[:2]
    if interpolation == "nearest":
        rows = np.minimum(np.floor(_source_positions(height, in_h)).astype(np.int64), in_h - 1)
        cols = np.minimum(np.floor(_source_positions(width, in_w)).astype(np.int64), in_w - 1)
        return image[rows][:, cols].astype(np.float32)
    if interpolation != "bilinear":
        import keras

        if interpolation not in ("bicubic", "area", "lanczos3", "lanczos5"):
            raise ValueError(f"interpolation {interpolation!r} needs TensorFlow (tf.image.resize); without it use bilinear, "
                             "nearest, bicubic, area, lanczos3 or lanczos5.")
        out = keras.ops.image.resize(image[None].astype(np.float32), (height, width), interpolation=interpolation, antialias=False)
        return np.asarray(keras.ops.convert_to_numpy(out)[0], np.float32)

    rows, cols, x_lerp, y_lerp = _bilinear_plan(height, width, in_h, in_w)
    # TensorFlow's kernel arithmetic: the two source rows of each output row interpolated
    # along x, then the pair along y. Only the rows and columns the output reads are
    # gathered (one fancy index each) before the float32 copy, so the work scales with
    # the output, not the input.
    picked = image[rows][:, cols].astype(np.float32)
    left, right = picked[:, :width], picked[:, width:]
    x = left + (right - left) * x_lerp
    upper_row, lower_row = x[:height], x[height:]
    return upper_row + (lower_row - upper_row) * y_lerp
