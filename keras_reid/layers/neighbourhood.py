"""Zero-padded K×K neighbourhood views, shared by the attention layers."""

from keras import ops


def _window(x, axis, start, length):
    # `split` rather than slicing: TensorFlow's strided-slice gradient is ~15× slower
    # on CPU than split's (a concat), and this runs K² times per attention layer.
    total = x.shape[axis]
    return ops.split(x, [start, start + length], axis=axis)[1] if (start or length != total) else x


def neighbourhood_views(x, kernel_size, dilation_rate=1):
    """Returns the K² shifted views of an NHWC tensor over its zero-padded K×K window.

    View `j` holds, at position p, the value at `p + offset_j` (0 outside the map), with
    offsets in row-major order `(dy, dx) = (j // K - K // 2, j % K - K // 2) * dilation`,
    the slot order of PyTorch's `nn.Unfold`. Static shifts only: XLA-friendly, no gathers.
    """
    height, width = x.shape[1], x.shape[2]
    pad = (kernel_size // 2) * dilation_rate
    padded = ops.pad(x, [[0, 0], [pad, pad], [pad, pad]] + [[0, 0]] * (len(x.shape) - 3))
    views = []
    for row in range(kernel_size):
        rows = _window(padded, 1, row * dilation_rate, height)
        for col in range(kernel_size):
            views.append(_window(rows, 2, col * dilation_rate, width))
    return views
