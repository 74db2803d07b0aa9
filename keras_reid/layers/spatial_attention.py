import keras
from keras import ops

from keras_reid.api_export import keras_reid_export

_MODES = {"paper": "paper", "softmax": "paper", "upstream": "upstream", "l1": "upstream"}


@keras_reid_export
class SpatialAttention(keras.layers.Layer):
    """Parameter-free spatial attention of SA-PCB: rescales every position by one weight.

    For an input F `(batch, H, W, C)` the layer computes a spatial map A `(batch, H, W)`
    with Σ_p A(p) = 1 and returns `F · A` (A broadcast over the channels). It has no
    weights. Two modes, because the paper and the released code disagree:

    - `mode="paper"` (paper §3.2, Fig. 4; alias "softmax"): `s(p) = Σ_c F(p, c)`, the sum
      over channels, then `A = softmax(s)` over the flattened H·W positions (no
      temperature). With many non-negative channels the sum makes the softmax sharp.
    - `mode="upstream"` (HRanWang/Spatial-Attention `reid/models/reSAnet.py`,
      `SpatialAttn`; alias "l1"; the default, needed by converted weights):
      `m(p) = mean_c F(p, c)`, then `A = m / Σ_p m(p)`, a per-sample L1 normalisation
      (no exp). Defined for non-negative (post-ReLU) inputs; the denominator is clamped
      at 1e-12 so an all-zero map gives 0 instead of upstream's NaN.

    In both the paper and the code the attended map is then globally *average*-pooled,
    so a branch computes `mean_p(F·A) = (1/(H·W)) Σ_p A(p) F(p)`: an attention-weighted
    sum with the extra 1/(H·W) factor. The layer returns `F · A` and leaves that pooling
    to the caller (`SAPCB` uses `GlobalAveragePooling2D`), which keeps the factor exactly
    as upstream does. The map is computed in float32.

    Args:
        mode: "upstream" (code, L1-normalised channel mean) or "paper" (softmax of the
            channel sum).

    Input: `(batch, H, W, C)`. Output: same shape.

    Example:
    >>> import numpy as np
    >>> layer = SpatialAttention(mode="paper")
    >>> tuple(layer(np.random.rand(2, 6, 4, 8).astype("float32")).shape)
    (2, 6, 4, 8)

    Reference: Wang, Fan, Wang, Jiao, Schiele, "Parameter-Free Spatial Attention Network
    for Person Re-Identification", arXiv:1811.12150, §3.2.
    """

    def __init__(self, mode="upstream", **kwargs):
        super().__init__(**kwargs)
        if mode not in _MODES:
            raise ValueError(f"mode must be 'paper' or 'upstream', got {mode!r}.")
        self.mode = _MODES[mode]

    def attention_map(self, inputs):
        """The spatial map A `(batch, H, W, 1)` in float32, summing to 1 per sample."""
        height, width = inputs.shape[1], inputs.shape[2]
        x = ops.cast(inputs, "float32")
        if self.mode == "paper":
            s = ops.reshape(ops.sum(x, axis=-1), (-1, height * width))
            a = ops.softmax(s, axis=-1)
        else:
            m = ops.reshape(ops.mean(x, axis=-1), (-1, height * width))
            a = m / ops.maximum(ops.sum(m, axis=-1, keepdims=True), 1e-12)
        return ops.reshape(a, (-1, height, width, 1))

    def call(self, inputs):
        return inputs * ops.cast(self.attention_map(inputs), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
