"""Zero-padded K×K neighbourhood views, shared by the attention layers."""

from keras import ops


def neighbourhood_views(x, kernel_size, dilation_rate=1):
    """Returns the K² shifted views of an NHWC tensor over its zero-padded K×K window.

    View `j` holds, at position p, the value at `p + offset_j` (0 outside the map), with
    offsets in row-major order `(dy, dx) = (j // K - K // 2, j % K - K // 2) * dilation`,
    the slot order of PyTorch's `nn.Unfold`. Static slices only: XLA-friendly, no gathers.
    """
    height, width = x.shape[1], x.shape[2]
    pad = (kernel_size // 2) * dilation_rate
    padded = ops.pad(x, [[0, 0], [pad, pad], [pad, pad]] + [[0, 0]] * (len(x.shape) - 3))
    views = []
    for j in range(kernel_size * kernel_size):
        dy = (j // kernel_size) * dilation_rate
        dx = (j % kernel_size) * dilation_rate
        views.append(padded[:, dy : dy + height, dx : dx + width])
    return views
