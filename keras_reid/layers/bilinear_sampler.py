"""A differentiable bilinear sampler (PyTorch `affine_grid` + `grid_sample`) in `keras.ops`.

Keras 3 has no differentiable grid sampler: `keras.ops.image.affine_transform` passes no
gradient to the transform. This module gives:

- `affine_grid(theta, size, align_corners)`: PyTorch's `F.affine_grid` (normalised
  coordinates in [-1, 1], x first), NHWC output `(N, H, W, 2)`.
- `grid_sample(images, grid, align_corners)`: PyTorch's `F.grid_sample(mode="bilinear",
  padding_mode="zeros")` for NHWC images: a 4-corner gather with out-of-range corners
  weighted by zero. Gradients flow to the images and to the grid (hence to θ).
- `affine_grid_sample(images, theta, output_size, align_corners)`: both together, for any θ.
- `axis_aligned_sample(images, scale_x, scale_y, tx, ty, align_corners, output_size)`: the
  exact separable form for θ = [[s_x, 0, t_x], [0, s_y, t_y]] (HA-CNN's hard attention):
  `out = A_y · X · A_xᵀ` with bilinear "hat" matrices, two matrix products. No gather, so it is
  cheap on every backend; the matrices are built from `floor`, so values and gradients
  equal PyTorch's, including at integer sampling positions.
- `AxisAlignedSampler`: a layer wrapping `axis_aligned_sample`, optionally followed by an
  align_corners=True resize (HA-CNN's region crop → 24×28 / 12×14 / 6×7).

Sampling weights are computed in float32 and cast to the images' dtype.
"""

import math

import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.align_corners_resize import apply_separable, interpolation_matrix


def _base_coords(length, align_corners):
    """Normalised output coordinates of `F.affine_grid` along an axis of `length`."""
    o = ops.arange(length, dtype="float32")
    if align_corners:
        if length <= 1:
            return ops.zeros((length,), "float32")
        return 2.0 * o / float(length - 1) - 1.0
    return (2.0 * o + 1.0) / float(length) - 1.0


def _unnormalize(coord, length, align_corners):
    """`grid_sample`'s map from normalised coordinates to source pixel positions."""
    if align_corners:
        return (coord + 1.0) * 0.5 * float(length - 1)
    return ((coord + 1.0) * float(length) - 1.0) * 0.5


def affine_grid(theta, size, align_corners=False):
    """PyTorch `F.affine_grid(theta, (N, C, H, W), align_corners)` in NHWC: `(N, H, W, 2)`.

    Args:
        theta: `(N, 2, 3)` affine matrices in normalised coordinates.
        size: `(H, W)` of the output grid.
        align_corners: PyTorch's flag (False is PyTorch ≥ 1.3's default).
    """
    height, width = int(size[0]), int(size[1])
    theta = ops.cast(theta, "float32")
    xs = _base_coords(width, align_corners)
    ys = _base_coords(height, align_corners)
    gx = ops.broadcast_to(xs[None, :], (height, width))
    gy = ops.broadcast_to(ys[:, None], (height, width))
    base = ops.stack([gx, gy, ops.ones((height, width), "float32")], axis=-1)  # (H, W, 3)
    return ops.einsum("hwk,njk->nhwj", base, theta)


def grid_sample(images, grid, align_corners=False):
    """PyTorch `F.grid_sample(mode="bilinear", padding_mode="zeros")` for NHWC images.

    Args:
        images: `(N, H, W, C)`.
        grid: `(N, Ho, Wo, 2)` normalised sampling positions, `[..., 0]` = x, `[..., 1]` = y.
        align_corners: PyTorch's flag.

    Returns `(N, Ho, Wo, C)` in the images' dtype.
    """
    dtype = images.dtype
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    out_h, out_w = grid.shape[1], grid.shape[2]
    grid = ops.cast(grid, "float32")
    ix = _unnormalize(grid[..., 0], width, align_corners)
    iy = _unnormalize(grid[..., 1], height, align_corners)
    x0 = ops.floor(ix)
    y0 = ops.floor(iy)
    wx1 = ix - x0
    wy1 = iy - y0
    wx0 = 1.0 - wx1
    wy0 = 1.0 - wy1
    flat = ops.reshape(images, (-1, height * width, channels))
    points = out_h * out_w

    def corner(xc, yc, weight):
        valid = ops.logical_and(
            ops.logical_and(xc >= 0.0, xc <= float(width - 1)),
            ops.logical_and(yc >= 0.0, yc <= float(height - 1)),
        )
        index = ops.clip(yc, 0.0, float(height - 1)) * width + ops.clip(xc, 0.0, float(width - 1))
        index = ops.reshape(ops.cast(index, "int32"), (-1, points, 1))
        index = ops.repeat(index, channels, axis=-1)
        values = ops.take_along_axis(flat, index, axis=1)
        weight = ops.where(valid, weight, ops.zeros_like(weight))
        weight = ops.reshape(ops.cast(weight, dtype), (-1, points, 1))
        return values * weight

    out = (
        corner(x0, y0, wx0 * wy0)
        + corner(x0 + 1.0, y0, wx1 * wy0)
        + corner(x0, y0 + 1.0, wx0 * wy1)
        + corner(x0 + 1.0, y0 + 1.0, wx1 * wy1)
    )
    return ops.reshape(out, (-1, out_h, out_w, channels))


def affine_grid_sample(images, theta, output_size=None, align_corners=False):
    """`grid_sample(images, affine_grid(theta, output_size))` for any θ `(N, 2, 3)`.

    Example:
    >>> import numpy as np
    >>> x = np.random.rand(2, 8, 6, 3).astype("float32")
    >>> theta = np.tile(np.array([[1, 0, 0], [0, 1, 0]], "float32"), (2, 1, 1))
    >>> bool(np.allclose(affine_grid_sample(x, theta), x, atol=1e-6))
    True
    """
    if output_size is None:
        output_size = (images.shape[1], images.shape[2])
    grid = affine_grid(theta, output_size, align_corners)
    return grid_sample(images, grid, align_corners)


def _hat_matrix(scale, shift, out_length, in_length, align_corners):
    """`(N, out_length, in_length)` bilinear weights of one axis (zero outside the source)."""
    scale = ops.reshape(ops.cast(scale, "float32"), (-1, 1))
    shift = ops.reshape(ops.cast(shift, "float32"), (-1, 1))
    # pos = unnormalize(scale · base_o + shift), rearranged so that no division by the
    # length precedes the sum: integer positions (s = 1, t = 0, HA-CNN's t_x at init) stay
    # exact in float32 and `floor` picks the same corners as an exact computation.
    o = ops.arange(out_length, dtype="float32")[None, :]
    if align_corners:
        ratio = float(in_length - 1) / float(out_length - 1) if out_length > 1 else 0.0
        centred = (2.0 * o - float(out_length - 1)) * ratio if out_length > 1 else o * 0.0
        pos = (scale * centred + (shift + 1.0) * float(in_length - 1)) * 0.5
    else:
        ratio = float(in_length) / float(out_length)
        pos = (scale * ((2.0 * o + 1.0 - float(out_length)) * ratio) + (shift + 1.0) * float(in_length) - 1.0) * 0.5
    low = ops.floor(pos)
    frac = (pos - low)[..., None]
    low = low[..., None]
    k = ops.arange(in_length, dtype="float32")[None, None, :]
    zeros = ops.zeros_like(frac * k)
    return ops.where(ops.equal(k, low), 1.0 - frac, zeros) + ops.where(
        ops.equal(k, low + 1.0), frac, zeros
    )


def axis_aligned_sample(images, scale_x, scale_y, tx, ty, align_corners=False, output_size=None):
    """Exact bilinear sampling for θ = [[scale_x, 0, tx], [0, scale_y, ty]] (separable).

    Equals `affine_grid_sample` for such θ (and PyTorch's `affine_grid` + `grid_sample`
    with zero padding), values and gradients, but with two matrix products instead of a gather.

    Args:
        images: `(N, H, W, C)`.
        scale_x, scale_y: Python floats or `(N,)` tensors.
        tx, ty: `(N,)` translations (normalised coordinates).
        align_corners: PyTorch's flag.
        output_size: `(Ho, Wo)`; the source size by default.

    Example:
    >>> import numpy as np
    >>> x = np.random.rand(2, 8, 6, 3).astype("float32")
    >>> out = axis_aligned_sample(x, 1.0, 0.25, np.zeros(2), np.zeros(2))
    >>> tuple(out.shape)
    (2, 8, 6, 3)
    """
    height, width = images.shape[1], images.shape[2]
    out_h, out_w = output_size if output_size is not None else (height, width)
    a_y = _hat_matrix(scale_y, ty, out_h, height, align_corners)
    a_x = _hat_matrix(scale_x, tx, out_w, width, align_corners)
    return _apply_separable(images, a_y, a_x)


def _band_length(scale, length):
    """Rows a sampler of this scale reads per sample, at most: its positions span
    `|scale| · (length − 1)` source rows, and bilinear reads one more (both flags)."""
    return min(length, int(math.ceil(abs(scale) * (length - 1))) + 2)


def _band_start(a, band):
    """`(N,)` first of the `band` consecutive source rows that hold every nonzero weight of
    the sampling matrix `a` (N, O, H): its first used row, moved up so the band fits."""
    used = ops.cast(ops.max(a, axis=1) > 0.0, "int32")  # weights are >= 0
    first = ops.argmax(used, axis=-1)  # 0 when nothing is used: the output is zero anyway
    return ops.minimum(ops.cast(first, "int32"), a.shape[-1] - band)


def _take_band(images, a_y, start, band):
    """Rows `start .. start + band` of each sample's `images` (N, H, W, C) and the matching
    columns of `a_y` (N, O, H), with one gather each over the flattened batch."""
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    rows = start[:, None] + ops.arange(band, dtype="int32")[None, :]  # (N, band)
    batch = ops.shape(images)[0]
    flat = ops.reshape(ops.arange(batch, dtype="int32")[:, None] * height + rows, (-1,))
    images = ops.take(ops.reshape(images, (-1, width * channels)), flat, axis=0)
    images = ops.reshape(images, (-1, band, width, channels))
    columns = ops.take(ops.reshape(ops.transpose(a_y, (0, 2, 1)), (-1, a_y.shape[1])), flat, axis=0)
    return images, ops.transpose(ops.reshape(columns, (-1, band, a_y.shape[1])), (0, 2, 1))


def _apply_separable(images, a_y, a_x):
    """`A_y · X · A_xᵀ` per sample: `a_y (N, Ho, H)`, `a_x (N, Wo, W)` (float32) on NHWC images."""
    return apply_separable(images, ops.cast(a_y, images.dtype), ops.cast(a_x, images.dtype))


@keras_reid_export
class AxisAlignedSampler(keras.layers.Layer):
    """Crops with an axis-aligned affine θ (bilinear, zero padding), optionally resized.

    The spatial-transformer step of HA-CNN's hard regional attention: called on
    `[images (N, H, W, C), translations (N, 2) = (t_x, t_y)]` it samples the source with
    θ = [[scale_x, 0, t_x], [0, scale_y, t_y]] exactly as PyTorch's `affine_grid` +
    `grid_sample` (output of the source's size), then, if `resize_to` is given, resizes
    bilinearly with align_corners=True. Gradients flow to the images and translations.

    Args:
        scale_x: fixed horizontal scale s_w (HA-CNN: 1.0).
        scale_y: fixed vertical scale s_h (HA-CNN: 0.25).
        resize_to: optional `(height, width)` of the align_corners=True resize.
        align_corners: the sampler's flag. False = PyTorch ≥ 1.3; True reproduces models
            trained with PyTorch < 1.3 (whose `grid_sample` behaved that way).

    Example:
    >>> import numpy as np
    >>> x = np.random.rand(2, 80, 32, 8).astype("float32")
    >>> t = np.zeros((2, 2), "float32")
    >>> tuple(AxisAlignedSampler(resize_to=(24, 28))([x, t]).shape)
    (2, 24, 28, 8)

    Reference: Jaderberg et al., "Spatial Transformer Networks", NeurIPS 2015; Li, Zhu,
    Gong, "Harmonious Attention Network for Person Re-Identification", CVPR 2018.
    """

    def __init__(self, scale_x=1.0, scale_y=0.25, resize_to=None, align_corners=False, **kwargs):
        super().__init__(**kwargs)
        self.scale_x = float(scale_x)
        self.scale_y = float(scale_y)
        self.resize_to = None if resize_to is None else tuple(int(s) for s in resize_to)
        self.align_corners = bool(align_corners)

    def call(self, inputs):
        images, translations = inputs
        translations = ops.cast(translations, "float32")
        height, width = images.shape[1], images.shape[2]
        a_y = _hat_matrix(self.scale_y, translations[:, 1], height, height, self.align_corners)
        a_x = _hat_matrix(self.scale_x, translations[:, 0], width, width, self.align_corners)
        # A vertical scale below 1 reads only a band of the source's rows per sample: gather
        # that band (its start from the uncomposed matrix, whose nonzero columns include
        # every column with a nonzero gradient) so the row product skips the zero columns.
        band = _band_length(self.scale_y, height)
        if band < height:
            start = _band_start(a_y, band)
            images, a_y = _take_band(images, a_y, start, band)
        if self.resize_to is not None:
            # The resize is separable and linear too: folded into the sampling matrices
            # ((R_y·A_y)·X·(R_x·A_x)ᵀ), the crop is computed at the small output size
            # instead of at the source's size and then resized. Same values to float32
            # rounding; HA-CNN's local branch costs a fraction of what it did.
            r_y = ops.convert_to_tensor(interpolation_matrix(self.resize_to[0], height), "float32")
            r_x = ops.convert_to_tensor(interpolation_matrix(self.resize_to[1], width), "float32")
            a_y = ops.matmul(r_y, a_y)  # (P, O) · (N, O, H), broadcast over N
            a_x = ops.matmul(r_x, a_x)
        return _apply_separable(images, a_y, a_x)

    def compute_output_shape(self, input_shape):
        images_shape = input_shape[0]
        if self.resize_to is None:
            return tuple(images_shape)
        return (images_shape[0], *self.resize_to, images_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "scale_x": self.scale_x,
                "scale_y": self.scale_y,
                "resize_to": None if self.resize_to is None else list(self.resize_to),
                "align_corners": self.align_corners,
            }
        )
        return config
