import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.grouped_pointwise_conv import GroupedPointwiseConv
from keras_reid.layers.neighbourhood import neighbourhood_views
from keras_reid.layers.torch_batch_norm import torch_batch_norm




@keras_reid_export
class LocalAttention(keras.layers.Layer):
    """Local attention of StRA: softmax-weighted K×K aggregation of a grouped value map.

    For every position p and head g, the layer predicts K² window logits
    `ω[p, g, j] + ν_g(p + offset_j)` from a grouped 1×1 mask branch, takes a softmax
    over the K² window slots and aggregates the zero-padded neighbourhood of a grouped
    1×1 value projection U: `out[p, g] = Σ_j A[p, g, j] · U_g(p + offset_j)` (paper Eq. 2).

    It reproduces the upstream `LocalAttn` exactly, including its flat mask-channel
    order: the mask branch emits `G·(1 + K²)` channels laid out group-contiguously by
    the second grouped conv, of which the first `G` are ν (so all ν maps come from
    conv group 0) and the next `G·K²` are ω with channel index `G + K²·g + j`. A
    "cleanly per-head" re-implementation would not load the upstream weights.
    Zero-padded border slots still get softmax mass (logit ω + 0) but contribute 0.

    Args:
        filters: int. Output (value) channels; divisible by `heads`.
        heads: int. Number of attention heads G (upstream 8).
        kernel_size: int. Odd window size K (upstream 3).
        dilation_rate: int. Window dilation (upstream 1).
        mask_reduction: int. The mask branch's hidden width is
            `input_channels // mask_reduction` (upstream `ratio=4`).
        value_groups: int or None. Groups of the value projection; None means
            `heads` (upstream). More groups make the projection cheaper.

    Input: `(batch, H, W, C)` with C divisible by `heads`. Output: `(batch, H, W, filters)`.

    Example:
    >>> import numpy as np
    >>> layer = LocalAttention(filters=64, heads=8)
    >>> tuple(layer(np.random.rand(2, 8, 4, 64).astype("float32")).shape)
    (2, 8, 4, 64)

    Reference: Zhang et al., "Structure-Regularized Attention for Deformable Object
    Representation", arXiv:2106.06672 (StRA); upstream `models/stru_mask_value.py`.
    """

    def __init__(
        self,
        filters,
        heads=8,
        kernel_size=3,
        dilation_rate=1,
        mask_reduction=4,
        value_groups=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")
        if filters % heads:
            raise ValueError(f"filters={filters} is not divisible by heads={heads}.")
        self.filters = filters
        self.heads = heads
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.mask_reduction = mask_reduction
        self.value_groups = value_groups
        self.window = kernel_size * kernel_size

    def build(self, input_shape):
        channels = input_shape[-1]
        hidden = channels // self.mask_reduction
        g = self.heads
        self.mask_conv1 = GroupedPointwiseConv(hidden, groups=g, name="mask_conv1", dtype=self.dtype_policy)
        self.mask_bn1 = torch_batch_norm("mask_bn1", dtype=self.dtype_policy)
        self.mask_conv2 = GroupedPointwiseConv(
            g * (1 + self.window), groups=g, name="mask_conv2", dtype=self.dtype_policy
        )
        self.mask_bn2 = torch_batch_norm("mask_bn2", dtype=self.dtype_policy)
        self.value_conv = GroupedPointwiseConv(
            self.filters,
            groups=self.value_groups or g,
            use_bias=False,
            name="value_conv", dtype=self.dtype_policy
        )
        self.mask_conv1.build(input_shape)
        shape = self.mask_conv1.compute_output_shape(input_shape)
        self.mask_bn1.build(shape)
        self.mask_conv2.build(shape)
        shape = self.mask_conv2.compute_output_shape(shape)
        self.mask_bn2.build(shape)
        self.value_conv.build(input_shape)

    def call(self, inputs, training=None):
        g, k2 = self.heads, self.window
        height, width = inputs.shape[1], inputs.shape[2]
        mask = self.mask_conv1(inputs)
        mask = ops.tanh(self.mask_bn1(mask, training=training))
        mask = self.mask_bn2(self.mask_conv2(mask), training=training)
        nu = mask[..., :g]
        omega = ops.reshape(mask[..., g:], (-1, height, width, g, k2))
        nu_views = ops.stack(neighbourhood_views(nu, self.kernel_size, self.dilation_rate), axis=-1)
        # Softmax over the K² window slots, in float32 so fp16/bf16 stay finite.
        attention = ops.softmax(ops.cast(omega + nu_views, "float32"), axis=-1)
        attention = ops.cast(attention, self.compute_dtype)

        value = self.value_conv(inputs)
        n = self.filters // g
        views = neighbourhood_views(value, self.kernel_size, self.dilation_rate)
        output = None
        for j, view in enumerate(views):
            term = ops.reshape(view, (-1, height, width, g, n)) * attention[..., j : j + 1]
            output = term if output is None else output + term
        return ops.reshape(output, (-1, height, width, self.filters))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "heads": self.heads,
                "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate,
                "mask_reduction": self.mask_reduction,
                "value_groups": self.value_groups,
            }
        )
        return config
