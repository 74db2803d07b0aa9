import keras
from keras import ops

from keras_reid.api_export import keras_reid_export


@keras_reid_export
class GroupedPointwiseConv(keras.layers.Layer):
    """A grouped 1×1 convolution computed as one einsum.

    Equivalent to `keras.layers.Conv2D(filters, 1, groups=groups)` (the same
    contiguous channel grouping as PyTorch's `Conv2d(groups=...)`), but written
    with `keras.ops.einsum` because grouped convolutions are unsupported or slow
    on several CPU backends (TensorFlow issues #29005, #51825).

    The kernel is stored in Keras `Conv2D` layout `(1, 1, in_channels // groups,
    filters)`, so PyTorch weights `[out, in/groups, 1, 1]` convert with the
    usual `transpose(2, 3, 1, 0)`.

    Args:
        filters: int. Number of output channels; divisible by `groups`.
        groups: int. Number of channel groups.
        use_bias: bool. Whether to add a bias.
        kernel_initializer: initializer for the kernel. PyTorch initialises
            convolutions with Kaiming-normal (fan out) in the upstream ReID
            code, which is the default here.

    Example:
    >>> import numpy as np
    >>> layer = GroupedPointwiseConv(16, groups=4)
    >>> tuple(layer(np.ones((2, 5, 5, 8), "float32")).shape)
    (2, 5, 5, 16)
    """

    def __init__(
        self,
        filters,
        groups=1,
        use_bias=True,
        kernel_initializer="he_normal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if filters % groups:
            raise ValueError(f"filters={filters} is not divisible by groups={groups}.")
        self.filters = filters
        self.groups = groups
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels % self.groups:
            raise ValueError(
                f"Input channels {in_channels} are not divisible by groups={self.groups}."
            )
        self.in_channels = in_channels
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, 1, in_channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer
            )

    def call(self, inputs):
        g = self.groups
        cin, cout = self.in_channels // g, self.filters // g
        # (1, 1, cin, g * cout) -> (g, cin, cout): output channel o lives in group o // cout.
        kernel = ops.transpose(ops.reshape(self.kernel, (cin, g, cout)), (1, 0, 2))
        spatial = tuple(inputs.shape[1:-1])
        kernel = ops.cast(kernel, inputs.dtype)
        if cin == 1:
            # One input channel per group (depthwise): a broadcast multiply.
            x = ops.reshape(inputs, (-1,) + spatial + (g, 1))
            y = x * kernel[:, 0, :]
        else:
            # Groups as the batch of one batched matmul: (g, M, cin) @ (g, cin, cout).
            # TensorFlow lowers the equivalent einsum "...gi,gio->...go" ~80× slower on CPU.
            x = ops.transpose(ops.reshape(inputs, (-1, g, cin)), (1, 0, 2))
            y = ops.transpose(ops.matmul(x, kernel), (1, 0, 2))
        y = ops.reshape(y, (-1,) + tuple(inputs.shape[1:-1]) + (self.filters,))
        if self.use_bias:
            y = y + ops.cast(self.bias, y.dtype)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "groups": self.groups,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
