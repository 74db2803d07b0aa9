import keras
from keras import ops

from keras_reid.api_export import keras_reid_export


@keras_reid_export
class SelfAttention(keras.layers.Layer):
    """Full (non-local) self-attention over all H·W positions: the CSA paper's "SA" baseline.

    Paper Eq. 1–2 with the residual of Eq. 7: `Q = conv_q(I)`, `K = conv_k(I)` (C'
    channels), `V = conv_v(I)` (C channels), all bias-free 1×1 convs;
    `A_ij = softmax_j(Q_iᵀ K_j)` over the N = H·W positions; `O_i = α·Σ_j A_ij V_j + I_i`.
    No channel grouping (the paper: "too expensive for SA"). It forms the N×N attention
    matrix, so memory and time grow quadratically in H·W; use it for comparisons only.

    C' is not given by the paper; the default is C // 8 (SAGAN, Zhang et al. 2018, the
    formulation with the α-scaled residual). α: initial (or fixed) value 0.0 and learnable
    by default, as in `CompressedSelfAttention`. The softmax runs in float32.

    Args:
        key_channels: C', channels of Q and K; None means `max(1, C // key_reduction)`.
        key_reduction: C / C' when `key_channels` is None (8).
        alpha: initial value of α (learnable) or its fixed value.
        trainable_alpha: whether α is learned.
        kernel_initializer: initializer of the 1×1 convs.

    Input: `(batch, H, W, C)`. Output: same shape.

    Example:
    >>> import numpy as np
    >>> layer = SelfAttention()
    >>> tuple(layer(np.random.rand(2, 6, 4, 16).astype("float32")).shape)
    (2, 6, 4, 16)

    Reference: Chen et al., "Compressed Self-Attention for Deep Metric Learning",
    AAAI 2020, Eq. 1–2; Wang et al., "Non-local Neural Networks", CVPR 2018.
    """

    def __init__(
        self,
        key_channels=None,
        key_reduction=8,
        alpha=0.0,
        trainable_alpha=True,
        kernel_initializer="he_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.key_channels = None if key_channels is None else int(key_channels)
        self.key_reduction = int(key_reduction)
        self.alpha_value = float(alpha)
        self.trainable_alpha = bool(trainable_alpha)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _conv(self, filters, name):
        return keras.layers.Conv2D(
            filters,
            1,
            use_bias=False,
            kernel_initializer=self.kernel_initializer,
            name=name,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        keys = self.key_channels or max(1, channels // self.key_reduction)
        self.conv_q = self._conv(keys, "conv_q")
        self.conv_k = self._conv(keys, "conv_k")
        self.conv_v = self._conv(channels, "conv_v")
        for conv in (self.conv_q, self.conv_k, self.conv_v):
            conv.build(input_shape)
        self.alpha = self.add_weight(
            name="alpha",
            shape=(),
            initializer=keras.initializers.Constant(self.alpha_value),
            trainable=self.trainable_alpha,
        )

    def call(self, inputs):
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        n = height * width
        q = ops.reshape(self.conv_q(inputs), (-1, n, self.conv_q.filters))
        k = ops.reshape(self.conv_k(inputs), (-1, n, self.conv_k.filters))
        v = ops.reshape(self.conv_v(inputs), (-1, n, channels))
        logits = ops.einsum("bic,bjc->bij", ops.cast(q, "float32"), ops.cast(k, "float32"))
        attention = ops.cast(ops.softmax(logits, axis=-1), self.compute_dtype)
        y = ops.reshape(ops.einsum("bij,bjc->bic", attention, v), (-1, height, width, channels))
        return ops.cast(self.alpha, self.compute_dtype) * y + inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "key_channels": self.key_channels,
                "key_reduction": self.key_reduction,
                "alpha": self.alpha_value,
                "trainable_alpha": self.trainable_alpha,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
