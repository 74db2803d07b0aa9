import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.inception_a import build_conv_block, call_conv_block


@keras_reid_export
class HarmoniousChannelAttention(keras.layers.Layer):
    """HA-CNN's channel (scale-wise) attention: non-negative weights `(N, 1, 1, C)`.

    Global average pooling → ConvBlock 1×1 C→C/r → ConvBlock 1×1 C/r→C (conv with bias →
    BN → ReLU each; no sigmoid: gating happens after fusion in `SoftAttention`).
    Torchreid's `ChannelAttn`; sublayers `conv1_*`, `conv2_*`. In training its
    BatchNorms see 1×1 maps, so their batch statistics are over the batch only.

    Args:
        reduction: r (16); the input channels must be divisible by it.

    Example:
    >>> import numpy as np
    >>> tuple(HarmoniousChannelAttention()(np.random.rand(2, 8, 4, 32).astype("float32")).shape)
    (2, 1, 1, 32)

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018 (Fig. 2c); torchreid `hacnn.ChannelAttn`.
    """

    def __init__(self, reduction=16, **kwargs):
        super().__init__(**kwargs)
        self.reduction = int(reduction)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.reduction:
            raise ValueError(f"channels ({channels}) must be divisible by reduction ({self.reduction}).")
        shape = build_conv_block(self, "conv1", channels // self.reduction, 1, (input_shape[0], 1, 1, channels))
        build_conv_block(self, "conv2", channels, 1, shape)

    def call(self, inputs, training=None):
        x = ops.mean(inputs, axis=(1, 2), keepdims=True)
        x = call_conv_block(self, "conv1", x, training)
        return call_conv_block(self, "conv2", x, training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config
