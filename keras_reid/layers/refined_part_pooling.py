import keras
from keras import ops

from keras_reid.api_export import keras_reid_export


@keras_reid_export
class RefinedPartPooling(keras.layers.Layer):
    """Refined part pooling (RPP) of PCB: soft part assignment of every column vector.

    A part classifier gives, for every position p of the feature map F `(batch, H, W, C)`,
    probabilities `w_i(p) = P(P_i | f(p))` (softmax over the `num_parts` parts); the
    refined part feature is `g_i = (num_parts / (H·W)) · Σ_p w_i(p) · f(p)`, which is the
    official code's `6·x` followed by a spatial mean (with balanced parts,
    Σ_p w_i(p) ≈ H·W/num_parts, so g_i is close to a weighted mean).

    Two part classifiers:

    - `mode="upstream"` (syfafterzy/PCB_RPP_for_reID `reid/models/resnet_rpp.py`, the
      default): the classifier input is `Dropout(F)` averaged over groups of
      `C // mask_channels` adjacent channels (parameter-free, 2048 → 256), minus its
      per-sample spatial mean; `local_mask` is a 1×1 conv `mask_channels → num_parts`
      **with bias**, softmax over parts (temperature multiplier 1).
    - `mode="paper"` (Sun et al. §3.2): a linear classifier on the raw C-dim f(p), no
      bias and no dropout.

    The layer's weights are `kernel` `(1, 1, in, num_parts)` (Conv2D layout, PyTorch
    `local_mask.weight` transposed (2, 3, 1, 0)) and, in upstream mode, `bias`.

    Args:
        num_parts: p, the number of parts (6).
        mode: "upstream" (code) or "paper".
        mask_channels: upstream mode only: channels after the channel averaging (256).
        dropout: upstream mode only: dropout rate on the classifier's input (0.5).

    Input: `(batch, H, W, C)`. Output: `(batch, num_parts, C)`, the refined part vectors.

    Example:
    >>> import numpy as np
    >>> layer = RefinedPartPooling(num_parts=6, mask_channels=4)
    >>> tuple(layer(np.random.rand(2, 6, 2, 32).astype("float32")).shape)
    (2, 6, 32)

    Reference: Sun, Zheng, Yang, Tian, Wang, "Beyond Part Models: Person Retrieval with
    Refined Part Pooling", ECCV 2018, §3.2.
    """

    def __init__(self, num_parts=6, mode="upstream", mask_channels=256, dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("upstream", "paper"):
            raise ValueError(f"mode must be 'upstream' or 'paper', got {mode!r}.")
        self.num_parts = int(num_parts)
        self.mode = mode
        self.mask_channels = int(mask_channels)
        self.dropout = float(dropout)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.mode == "upstream":
            if channels % self.mask_channels:
                raise ValueError(f"Input channels {channels} not divisible by mask_channels={self.mask_channels}.")
            fan_in = self.mask_channels
        else:
            fan_in = channels
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, 1, fan_in, self.num_parts),
            initializer=keras.initializers.RandomNormal(stddev=0.001),
        )
        if self.mode == "upstream":
            self.bias = self.add_weight(name="bias", shape=(self.num_parts,), initializer="zeros")

    def part_probabilities(self, inputs, training=None):
        """`w` `(batch, H, W, num_parts)` in float32: P(P_i | f(p)), softmax over parts."""
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        kernel = ops.reshape(ops.cast(self.kernel, "float32"), (-1, self.num_parts))
        x = ops.cast(inputs, "float32")
        if self.mode == "upstream":
            y = ops.cast(self.dropout_layer(inputs, training=training), "float32")
            y = ops.mean(
                ops.reshape(y, (-1, height, width, self.mask_channels, channels // self.mask_channels)),
                axis=-1,
            )
            y = y - ops.mean(y, axis=(1, 2), keepdims=True)
            logits = ops.matmul(y, kernel) + ops.cast(self.bias, "float32")
        else:
            logits = ops.matmul(x, kernel)
        return ops.softmax(logits, axis=-1)

    def call(self, inputs, training=None):
        height, width = inputs.shape[1], inputs.shape[2]
        w = self.part_probabilities(inputs, training=training)
        x = ops.cast(inputs, "float32")
        pooled = ops.einsum("bhwp,bhwc->bpc", w, x) * (self.num_parts / (height * width))
        return ops.cast(pooled, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_parts, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_parts": self.num_parts,
                "mode": self.mode,
                "mask_channels": self.mask_channels,
                "dropout": self.dropout,
            }
        )
        return config
