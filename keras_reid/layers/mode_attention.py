import math

import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.grouped_pointwise_conv import GroupedPointwiseConv
from keras_reid.layers.torch_batch_norm import torch_batch_norm


@keras_reid_export
class ModeAttention(keras.layers.Layer):
    """Mode attention of StRA: per-head attention pooling, gated feedback and head routing.

    With the input viewed per head as `z_g(p)` (G heads of C/G channels):

    1. pooling maps `α_g = softmax_p(BN(conv(tanh(BN(conv(z))))))` from two grouped 1×1
       convolutions, softmax over the H·W positions (paper Eq. 1);
    2. modal vectors `s_g = Σ_p α_g(p) z_g(p)`;
    3. phase 1: `Y = Z + gate(BN(⟨s_g, z_g(p)⟩)) · s_g`;
    4. routing: `s'_g = Σ_h softmax_h(√G · normalize(S Sᵀ)_g)_h · s_h`;
    5. phase 2: `out = Y + gate(BN(⟨s'_g, Y_g(p)⟩)) · s'_g` (paper Eq. 3);
    6. the diversity loss `L_d = G − Σ_p max_g α_g(p)` per sample (paper appendix A).

    `gating="sigmoid"` is what the upstream code computes (and what converted weights
    need); `gating="softmax"` is the commented-out alternative of the upstream code, a
    softmax over positions, offered for the paper's description.

    Upstream hard-codes 512 input channels; here any width divisible by `heads` works,
    the pooling branch's hidden width being `channels // pooling_reduction`
    (512 → 64 upstream), so the 512 case is unchanged.

    Args:
        heads: int. Number of heads (modes) G; upstream 8.
        gating: "sigmoid" (upstream code) or "softmax" (spatial softmax).
        pooling_reduction: int. Hidden width divisor of the pooling branch (upstream 8).

    Returns `(output, diversity)`: output `(batch, H, W, C)` and the per-sample
    diversity loss `(batch,)` in `[0, G − 1]`.

    Under a mixed-precision policy the whole layer computes in float32 (inputs are cast
    up, the output is cast back to the compute dtype), as Keras' normalisation layers do:
    the inner products `⟨s_g, z_g(p)⟩` and `S Sᵀ` over C/G channels of trained-network
    activations reach 1e8 and overflow float16 (max 65504).

    Example:
    >>> import numpy as np
    >>> out, div = ModeAttention(heads=8)(np.random.rand(2, 8, 4, 512).astype("float32"))
    >>> tuple(out.shape), tuple(div.shape)
    ((2, 8, 4, 512), (2,))

    Reference: Zhang et al., StRA, arXiv:2106.06672; upstream `models/component.py` (`MoE`).
    """

    def __init__(self, heads=8, gating="sigmoid", pooling_reduction=8, **kwargs):
        super().__init__(**kwargs)
        if gating not in ("sigmoid", "softmax"):
            raise ValueError(f"gating must be 'sigmoid' or 'softmax', got {gating!r}.")
        self.heads = heads
        self.gating = gating
        self.pooling_reduction = pooling_reduction

    def build(self, input_shape):
        channels = input_shape[-1]
        g = self.heads
        hidden = channels // self.pooling_reduction
        if channels % g or hidden % g:
            raise ValueError(
                f"ModeAttention needs channels ({channels}) and channels // "
                f"pooling_reduction ({hidden}) divisible by heads ({g})."
            )
        self.channels = channels
        # float32 whatever the model's policy (see the class docstring); the variables
        # are float32 under every policy, so weights load the same.
        policy = "float32"
        self.pool_conv1 = GroupedPointwiseConv(hidden, groups=g, name="pool_conv1", dtype=policy)
        self.pool_bn1 = torch_batch_norm("pool_bn1", dtype=policy)
        self.pool_conv2 = GroupedPointwiseConv(g, groups=g, name="pool_conv2", dtype=policy)
        self.pool_bn2 = torch_batch_norm("pool_bn2", dtype=policy)
        self.gate_bn1 = torch_batch_norm("gate_bn1", dtype=policy)
        self.gate_bn2 = torch_batch_norm("gate_bn2", dtype=policy)
        self.pool_conv1.build(input_shape)
        hidden_shape = tuple(input_shape[:-1]) + (hidden,)
        self.pool_bn1.build(hidden_shape)
        self.pool_conv2.build(hidden_shape)
        head_shape = tuple(input_shape[:-1]) + (g,)
        for bn in (self.pool_bn2, self.gate_bn1, self.gate_bn2):
            bn.build(head_shape)

    def _gate(self, logits):
        if self.gating == "sigmoid":
            return ops.sigmoid(logits)
        return self._spatial_softmax(logits)

    def _spatial_softmax(self, logits):
        height, width, g = logits.shape[1], logits.shape[2], logits.shape[3]
        flat = ops.reshape(ops.cast(logits, "float32"), (-1, height * width, g))
        weights = ops.softmax(flat, axis=1)
        return ops.reshape(weights, (-1, height, width, g))

    def call(self, inputs, training=None):
        g = self.heads
        height, width = inputs.shape[1], inputs.shape[2]
        n = self.channels // g
        z = ops.reshape(ops.cast(inputs, "float32"), (-1, height, width, g, n))

        logits = ops.tanh(self.pool_bn1(self.pool_conv1(inputs), training=training))
        logits = self.pool_bn2(self.pool_conv2(logits), training=training)
        alpha = self._spatial_softmax(logits)  # (N, H, W, G), sums to 1 over positions
        modes = ops.einsum("nhwg,nhwgc->ngc", alpha, z)

        gate1 = self._gate(self.gate_bn1(ops.einsum("ngc,nhwgc->nhwg", modes, z), training=training))
        y = z + gate1[..., None] * modes[:, None, None]

        # Route between heads: cosine-like affinities (rows L2-normalised, eps 1e-12 as
        # F.normalize), scaled by √G, softmax over heads.
        affinity = ops.einsum("ngc,nhc->ngh", modes, modes)
        norm = ops.maximum(ops.sqrt(ops.sum(affinity * affinity, axis=-1, keepdims=True)), 1e-12)
        routing = ops.softmax(math.sqrt(g) * affinity / norm, axis=-1)
        routed = ops.einsum("ngh,nhc->ngc", routing, modes)

        gate2 = self._gate(self.gate_bn2(ops.einsum("ngc,nhwgc->nhwg", routed, y), training=training))
        output = y + gate2[..., None] * routed[:, None, None]

        diversity = g - ops.sum(ops.max(alpha, axis=-1), axis=(1, 2))
        output = ops.reshape(output, (-1, height, width, self.channels))
        return ops.cast(output, self.compute_dtype), diversity

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (input_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "heads": self.heads,
                "gating": self.gating,
                "pooling_reduction": self.pooling_reduction,
            }
        )
        return config
