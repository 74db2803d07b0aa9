import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.grouped_pointwise_conv import GroupedPointwiseConv


@keras_reid_export
class CompressedSelfAttention(keras.layers.Layer):
    """Compressed self-attention (CSA): D base attention maps instead of H·W per-position maps.

    Implements paper Eq. 3–7 and Fig. 3, with channel grouping. For the input I
    `(batch, H, W, C)` and each of the `groups` channel groups g (C/G channels each,
    contiguous, as PyTorch's grouped conv):

    1. `M = conv_m(I)`: a bias-free 1×1 conv to D maps (the rows of its kernel are the
       base feature vectors v_k of Eq. 3, so `M[k, j] = v_kᵀ I_j`);
       `V = conv_v(I)`: a bias-free 1×1 conv C/G → C/G (g(I) = W_g I of Eq. 1).
    2. Base attention maps `B = softmax(M)` over the N = H·W positions, per map (Eq. 3).
    3. Adaptive weights `W = softmax(M)` over the D maps, per position (w(v_k, I_i), Eq. 4).
    4. Elementary outputs `E_k = Σ_j B_kj V_j`, a (D, C/G) matrix per group (Eq. 6).
    5. `Y_i = Σ_k W_ki E_k` (Eq. 5) and `O = α·Y + I` (Eq. 7).

    The groups are computed together by grouped 1×1 convs (`GroupedPointwiseConv`), so
    each group has its own D base vectors and value projection. Cost and memory are
    O(N·D·C): no N×N matrix is ever formed. The softmaxes run in float32.

    α: the paper says "a learnable or fixed parameter" and gives no initial value;
    `alpha` is its initial (or fixed) value, 0.0 by default (the non-local / SAGAN
    convention, so a freshly inserted module starts as the identity), and
    `trainable_alpha` chooses learnable (default) or fixed.

    Args:
        num_maps: D, base attention maps per group (paper default 32).
        groups: G, channel groups with independent CSA (paper default 2).
        alpha: initial value of α (learnable) or its fixed value.
        trainable_alpha: whether α is learned.
        kernel_initializer: initializer of the two 1×1 convs.

    Input: `(batch, H, W, C)`, C divisible by `groups`. Output: same shape.

    Example:
    >>> import numpy as np
    >>> layer = CompressedSelfAttention(num_maps=8, groups=2)
    >>> tuple(layer(np.random.rand(2, 6, 4, 16).astype("float32")).shape)
    (2, 6, 4, 16)

    Reference: Chen, Gong, Xu, Wang, Zhang, Du, "Compressed Self-Attention for Deep
    Metric Learning", AAAI 2020, Eq. 3–7, Fig. 3.
    """

    def __init__(
        self,
        num_maps=32,
        groups=2,
        alpha=0.0,
        trainable_alpha=True,
        kernel_initializer="he_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_maps < 1 or groups < 1:
            raise ValueError(f"num_maps and groups must be >= 1, got {num_maps}, {groups}.")
        self.num_maps = int(num_maps)
        self.groups = int(groups)
        self.alpha_value = float(alpha)
        self.trainable_alpha = bool(trainable_alpha)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(f"Input channels {channels} are not divisible by groups={self.groups}.")
        self.conv_m = GroupedPointwiseConv(
            self.groups * self.num_maps,
            groups=self.groups,
            use_bias=False,
            kernel_initializer=self.kernel_initializer,
            name="conv_m",
            dtype=self.dtype_policy,
        )
        self.conv_v = GroupedPointwiseConv(
            channels,
            groups=self.groups,
            use_bias=False,
            kernel_initializer=self.kernel_initializer,
            name="conv_v",
            dtype=self.dtype_policy,
        )
        self.conv_m.build(input_shape)
        self.conv_v.build(input_shape)
        self.alpha = self.add_weight(
            name="alpha",
            shape=(),
            initializer=keras.initializers.Constant(self.alpha_value),
            trainable=self.trainable_alpha,
        )

    def call(self, inputs):
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        g, d = self.groups, self.num_maps
        n, c = height * width, channels // g
        m = ops.reshape(self.conv_m(inputs), (-1, n, g, d))
        v = ops.reshape(self.conv_v(inputs), (-1, n, g, c))
        m32 = ops.cast(m, "float32")
        base = ops.cast(ops.softmax(m32, axis=1), self.compute_dtype)  # B: over positions
        # W: softmax over the maps (identically 1 when D = 1).
        weights = ops.ones_like(m) if d == 1 else ops.cast(ops.softmax(m32, axis=-1), self.compute_dtype)
        elementary = ops.einsum("bngd,bngc->bgdc", base, v)  # E = V·Bᵀ, (D, C/G) per group
        y = ops.einsum("bngd,bgdc->bngc", weights, elementary)
        y = ops.reshape(y, (-1, height, width, channels))
        return ops.cast(self.alpha, self.compute_dtype) * y + inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_maps": self.num_maps,
                "groups": self.groups,
                "alpha": self.alpha_value,
                "trainable_alpha": self.trainable_alpha,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
