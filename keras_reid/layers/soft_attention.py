import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.harmonious_channel_attention import HarmoniousChannelAttention
from keras_reid.layers.harmonious_spatial_attention import HarmoniousSpatialAttention
from keras_reid.layers.inception_a import build_conv_block, call_conv_block


@keras_reid_export
class SoftAttention(keras.layers.Layer):
    """HA-CNN's soft (pixel × channel) attention map `(N, H, W, C)` with values in [0.5, 1).

    spatial `(N, H, W, 1)` × channel `(N, 1, 1, C)` (broadcast product) → ConvBlock 1×1
    C→C → sigmoid. The ConvBlock ends in ReLU, so the sigmoid sees non-negative values
    and the map lies in [0.5, 1). Torchreid's `SoftAttn`; sublayers `spatial_attn`,
    `channel_attn`, `conv_conv`, `conv_bn`. The sigmoid runs in float32.

    Args:
        reduction: channel attention reduction (16).

    Example:
    >>> import numpy as np
    >>> tuple(SoftAttention()(np.random.rand(2, 8, 4, 32).astype("float32")).shape)
    (2, 8, 4, 32)

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018 (Fig. 2a); torchreid `hacnn.SoftAttn`.
    """

    def __init__(self, reduction=16, **kwargs):
        super().__init__(**kwargs)
        self.reduction = int(reduction)

    def build(self, input_shape):
        policy = self.dtype_policy
        self.spatial_attn = HarmoniousSpatialAttention(name="spatial_attn", dtype=policy)
        self.channel_attn = HarmoniousChannelAttention(self.reduction, name="channel_attn", dtype=policy)
        self.spatial_attn.build(input_shape)
        self.channel_attn.build(input_shape)
        build_conv_block(self, "conv", input_shape[-1], 1, input_shape)

    def call(self, inputs, training=None):
        y = self.spatial_attn(inputs, training=training) * self.channel_attn(inputs, training=training)
        y = call_conv_block(self, "conv", y, training)
        return ops.cast(ops.sigmoid(ops.cast(y, "float32")), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config
