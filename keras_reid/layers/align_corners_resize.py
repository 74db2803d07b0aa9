"""Bilinear resize with PyTorch's `align_corners=True` semantics (fixed interpolation matrices).

`keras.ops.image.resize` has no align_corners option (it uses half-pixel centres, i.e.
align_corners=False). With align_corners=True, output index o of an axis of length
L_out samples source position `o · (L_in − 1) / (L_out − 1)`; the resize is separable:
`out = A_y · X · A_xᵀ` with constant bilinear matrices applied by two matrix products.
"""

import keras
import numpy as np
from keras import ops

from keras_reid.api_export import keras_reid_export


def interpolation_matrix(out_length, in_length):
    """`(out_length, in_length)` float32 NumPy matrix of align_corners=True bilinear weights."""
    out_length, in_length = int(out_length), int(in_length)
    if out_length > 1:
        pos = np.arange(out_length, dtype=np.float64) * (in_length - 1) / (out_length - 1)
    else:
        pos = np.zeros((1,), np.float64)
    low = np.minimum(np.floor(pos).astype(np.int64), in_length - 1)
    high = np.minimum(low + 1, in_length - 1)
    frac = pos - low
    matrix = np.zeros((out_length, in_length), np.float64)
    rows = np.arange(out_length)
    np.add.at(matrix, (rows, low), 1.0 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix.astype(np.float32)


def apply_separable(images, a_y, a_x):
    """`A_y · X · A_xᵀ` on NHWC `images`: `a_y` is `(Ho, H)` or per sample `(N, Ho, H)`,
    `a_x` is `(Wo, W)` or `(N, Wo, W)`; returns `(N, Ho, Wo, C)`.

    Two (batched) matrix products, no transposes: the rows as `(N, H, W·C)`, then the
    columns with `A_x` broadcast over the output rows. TensorFlow's einsum of the same
    contraction transposes its operands first, which made it the largest non-convolution
    cost of HA-CNN's inference on CPU.
    """
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    out_h = a_y.shape[-2]
    rows = ops.matmul(a_y, ops.reshape(images, (-1, height, width * channels)))
    rows = ops.reshape(rows, (-1, out_h, width, channels))
    a_x = a_x[:, None] if len(a_x.shape) == 3 else a_x
    return ops.matmul(a_x, rows)


def resize_align_corners(images, size):
    """Bilinear resize of NHWC `images` to `size = (height, width)`, align_corners=True.

    Equals PyTorch's `F.interpolate(x, size, mode="bilinear", align_corners=True)`.

    Example:
    >>> import numpy as np
    >>> x = np.random.rand(2, 5, 4, 3).astype("float32")
    >>> tuple(resize_align_corners(x, (10, 8)).shape)
    (2, 10, 8, 3)
    """
    height, width = images.shape[1], images.shape[2]
    a_y = ops.convert_to_tensor(interpolation_matrix(size[0], height), dtype=images.dtype)
    a_x = ops.convert_to_tensor(interpolation_matrix(size[1], width), dtype=images.dtype)
    return apply_separable(images, a_y, a_x)


@keras_reid_export
class AlignCornersResize(keras.layers.Layer):
    """Bilinear resize with align_corners=True, to a fixed size or by an integer factor.

    The resize PyTorch models call as `F.interpolate(..., mode="bilinear",
    align_corners=True)` (HA-CNN's spatial-attention ×2 upsample and its region resizes).
    Implemented with two constant interpolation matrices (matrix products), so it is exact,
    differentiable and identical on every backend.

    Args:
        size: `(height, width)` of the output, or None to use `scale`.
        scale: integer factor applied to both spatial sizes when `size` is None.

    Example:
    >>> import numpy as np
    >>> tuple(AlignCornersResize(scale=2)(np.random.rand(2, 5, 4, 1).astype("float32")).shape)
    (2, 10, 8, 1)

    Reference: PyTorch `torch.nn.functional.interpolate` documentation (align_corners).
    """

    def __init__(self, size=None, scale=None, **kwargs):
        super().__init__(**kwargs)
        if (size is None) == (scale is None):
            raise ValueError("Pass exactly one of `size` and `scale`.")
        self.size = None if size is None else tuple(int(s) for s in size)
        self.scale = None if scale is None else int(scale)

    def _target(self, input_shape):
        if self.size is not None:
            return self.size
        return (input_shape[1] * self.scale, input_shape[2] * self.scale)

    def call(self, inputs):
        return resize_align_corners(inputs, self._target(inputs.shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._target(input_shape), input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update({"size": None if self.size is None else list(self.size), "scale": self.scale})
        return config
