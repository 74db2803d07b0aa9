import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.batch_norm_folded_linear import conv_batch_norm
from keras_reid.layers.local_attention import LocalAttention
from keras_reid.layers.mode_attention import ModeAttention
from keras_reid.layers.torch_batch_norm import torch_batch_norm


@keras_reid_export
class StRABottleneck(keras.layers.Layer):
    """A ResNet bottleneck whose 3×3 convolution is replaced by StRA attention.

    `conv1 (1×1) → BN → ReLU → LocalAttention → ModeAttention → BN → ReLU → conv3 (1×1)
    → BN`, added to the identity (or a 1×1 conv + BN projection when the shape changes),
    then ReLU. This is upstream's `StRABottleneck`, whose `conv2` is `LocalAttn` with the
    `MoE` mode attention applied to its output. Stride is always 1, as in upstream
    (every StRA block sits in a last-stride-1 stage).

    Args:
        filters: int. Bottleneck width (upstream 512 in ResNet-50 layer4).
        expansion: int. Output channels are `filters * expansion` (ResNet: 4).
        heads: int. Attention heads G (default 8).
        kernel_size: int. Local attention window K (default 3).
        gating: "sigmoid" (upstream code) or "softmax"; see `ModeAttention`.
        mask_reduction: int. Local attention mask-branch reduction (upstream 4).
        pooling_reduction: int. Mode attention pooling-branch reduction (upstream 8).

    Returns `(output, diversity)` where diversity is the mode attention's per-sample
    diversity loss `(batch,)`.

    Example:
    >>> import numpy as np
    >>> out, div = StRABottleneck(64)(np.random.rand(2, 8, 4, 256).astype("float32"))
    >>> tuple(out.shape)
    (2, 8, 4, 256)

    Reference: Zhang et al., StRA, arXiv:2106.06672.
    """

    def __init__(
        self,
        filters,
        expansion=4,
        heads=8,
        kernel_size=3,
        gating="sigmoid",
        mask_reduction=4,
        pooling_reduction=8,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.expansion = expansion
        self.heads = heads
        self.kernel_size = kernel_size
        self.gating = gating
        self.mask_reduction = mask_reduction
        self.pooling_reduction = pooling_reduction

    def build(self, input_shape):
        policy = self.dtype_policy
        out_channels = self.filters * self.expansion
        conv = lambda f, name: keras.layers.Conv2D(
            f, 1, use_bias=False, kernel_initializer="he_normal", name=name, dtype=policy
        )
        self.conv1 = conv(self.filters, "conv1")
        self.bn1 = torch_batch_norm("bn1", dtype=policy)
        self.local_attention = LocalAttention(
            self.filters,
            heads=self.heads,
            kernel_size=self.kernel_size,
            mask_reduction=self.mask_reduction,
            name="local_attention",
            dtype=policy,
        )
        self.mode_attention = ModeAttention(
            heads=self.heads,
            gating=self.gating,
            pooling_reduction=self.pooling_reduction,
            name="mode_attention",
            dtype=policy,
        )
        self.bn2 = torch_batch_norm("bn2", dtype=policy)
        self.conv3 = conv(out_channels, "conv3")
        self.bn3 = torch_batch_norm("bn3", dtype=policy)
        self.has_projection = input_shape[-1] != out_channels
        mid_shape = tuple(input_shape[:-1]) + (self.filters,)
        out_shape = tuple(input_shape[:-1]) + (out_channels,)
        self.conv1.build(input_shape)
        self.bn1.build(mid_shape)
        self.local_attention.build(mid_shape)
        self.mode_attention.build(mid_shape)
        self.bn2.build(mid_shape)
        self.conv3.build(mid_shape)
        self.bn3.build(out_shape)
        if self.has_projection:
            self.downsample_conv = conv(out_channels, "downsample_conv")
            self.downsample_bn = torch_batch_norm("downsample_bn", dtype=policy)
            self.downsample_conv.build(input_shape)
            self.downsample_bn.build(out_shape)

    def call(self, inputs, training=None):
        # conv_batch_norm: folded into one conv inside a folded inference view.
        x = ops.relu(conv_batch_norm(self.conv1, self.bn1, inputs, training))
        x = self.local_attention(x, training=training)
        x, diversity = self.mode_attention(x, training=training)
        x = ops.relu(self.bn2(x, training=training))
        x = conv_batch_norm(self.conv3, self.bn3, x, training)
        shortcut = inputs
        if self.has_projection:
            shortcut = conv_batch_norm(self.downsample_conv, self.downsample_bn, inputs, training)
        return ops.relu(x + shortcut), diversity

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters * self.expansion,), (input_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "expansion": self.expansion,
                "heads": self.heads,
                "kernel_size": self.kernel_size,
                "gating": self.gating,
                "mask_reduction": self.mask_reduction,
                "pooling_reduction": self.pooling_reduction,
            }
        )
        return config
