import keras

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.hard_regional_attention import HardRegionalAttention
from keras_reid.layers.soft_attention import SoftAttention


@keras_reid_export
class HarmoniousAttention(keras.layers.Layer):
    """HA-CNN's harmonious attention module: soft attention map and hard region translations.

    Returns `(soft, translations)`: `SoftAttention` of the input `(N, H, W, C)` with values
    in [0.5, 1), and `HardRegionalAttention` of the same input `(N, 4, 2)` (float32).
    Torchreid's `HarmAttn`; sublayers `soft_attn`, `hard_attn`.

    Args:
        reduction: channel attention reduction (16).

    Example:
    >>> import numpy as np
    >>> soft, theta = HarmoniousAttention()(np.random.rand(2, 8, 4, 32).astype("float32"))
    >>> tuple(soft.shape), tuple(theta.shape)
    ((2, 8, 4, 32), (2, 4, 2))

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018 (Fig. 2); torchreid `hacnn.HarmAttn`.
    """

    def __init__(self, reduction=16, **kwargs):
        super().__init__(**kwargs)
        self.reduction = int(reduction)

    def build(self, input_shape):
        policy = self.dtype_policy
        self.soft_attn = SoftAttention(self.reduction, name="soft_attn", dtype=policy)
        self.hard_attn = HardRegionalAttention(name="hard_attn", dtype=policy)
        self.soft_attn.build(input_shape)
        self.hard_attn.build(input_shape)

    def call(self, inputs, training=None):
        return self.soft_attn(inputs, training=training), self.hard_attn(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (input_shape[0], 4, 2)

    def compute_output_spec(self, inputs, training=None):
        return (
            keras.KerasTensor(inputs.shape, dtype=self.compute_dtype),
            keras.KerasTensor((inputs.shape[0], 4, 2), dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config
