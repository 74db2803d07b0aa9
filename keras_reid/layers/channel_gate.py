import keras
from keras import ops

from keras_reid.api_export import keras_reid_export

GATE_ACTIVATIONS = ("sigmoid", "relu", "linear")


@keras_reid_export
class ChannelGate(keras.layers.Layer):
    """OSNet's unified aggregation gate: input-conditioned channel weights `(N, 1, 1, C)`.

    Global average pooling → `fc1` (C → C // reduction, with bias) → ReLU → `fc2`
    (→ C gates, with bias) → gate activation (sigmoid), then the input multiplied by
    its gates. OSNet shares one gate across the four streams of a block (call the same
    layer on each stream), so the gates of a stream depend on that stream's content.
    `fc1`/`fc2` are torchreid's 1×1 convs applied to the pooled vector, held as `Dense`
    sublayers (`{name}/fc1/kernel`: a converter reshapes `[out, in, 1, 1]` to `(in, out)`).

    Args:
        reduction: channel reduction of the hidden layer (16); `C // reduction` must be ≥ 1.
        num_gates: number of gates (default: the input channels). A different number
            needs `return_gates=True`.
        gate_activation: "sigmoid" (OSNet), "relu" or "linear" (no activation).
        return_gates: return the gates `(N, 1, 1, num_gates)` instead of the gated input.

    Example:
    >>> import numpy as np
    >>> tuple(ChannelGate()(np.random.rand(2, 8, 4, 32).astype("float32")).shape)
    (2, 8, 4, 32)

    Reference: Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification",
    ICCV 2019 (arXiv:1905.00953), §3.2 "unified aggregation gate"; torchreid
    `osnet.ChannelGate` (its `layer_norm` option, unused by every OSNet, is not provided).
    """

    def __init__(self, reduction=16, num_gates=None, gate_activation="sigmoid", return_gates=False, **kwargs):
        super().__init__(**kwargs)
        if gate_activation not in GATE_ACTIVATIONS:
            raise ValueError(f"gate_activation must be one of {GATE_ACTIVATIONS}, got {gate_activation!r}.")
        if int(reduction) < 1:
            raise ValueError(f"reduction must be a positive integer, got {reduction}.")
        self.reduction = int(reduction)
        self.num_gates = None if num_gates is None else int(num_gates)
        self.gate_activation = gate_activation
        self.return_gates = bool(return_gates)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        hidden = channels // self.reduction
        if hidden < 1:
            raise ValueError(
                f"ChannelGate needs at least `reduction` ({self.reduction}) input channels, got {channels}."
            )
        gates = self.num_gates or channels
        if gates != channels and not self.return_gates:
            raise ValueError(
                f"num_gates ({gates}) differs from the input channels ({channels}): only return_gates=True "
                "can return them."
            )
        self.fc1 = keras.layers.Dense(hidden, kernel_initializer="he_normal", name="fc1", dtype=self.dtype_policy)
        self.fc2 = keras.layers.Dense(gates, kernel_initializer="he_normal", name="fc2", dtype=self.dtype_policy)
        self.fc1.build((input_shape[0], channels))
        self.fc2.build((input_shape[0], hidden))

    def call(self, inputs):
        x = ops.mean(inputs, axis=(1, 2))
        x = self.fc2(ops.relu(self.fc1(x)))
        if self.gate_activation == "sigmoid":
            x = ops.sigmoid(x)
        elif self.gate_activation == "relu":
            x = ops.relu(x)
        gates = x[:, None, None, :]
        return gates if self.return_gates else inputs * gates

    def compute_output_shape(self, input_shape):
        if self.return_gates:
            return (input_shape[0], 1, 1, self.num_gates or input_shape[-1])
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "num_gates": self.num_gates,
                "gate_activation": self.gate_activation,
                "return_gates": self.return_gates,
            }
        )
        return config
