import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.align_corners_resize import resize_align_corners
from keras_reid.layers.inception_a import build_conv_block, call_conv_block


@keras_reid_export
class HarmoniousSpatialAttention(keras.layers.Layer):
    """HA-CNN's spatial (pixel-wise) attention: one non-negative map `(N, H, W, 1)`.

    Channel mean → ConvBlock 3×3 stride 2 (pad 1) → bilinear ×2 upsample with
    align_corners=True → ConvBlock 1×1 (both ConvBlocks 1→1 channel, conv with bias → BN
    → ReLU). Torchreid's `SpatialAttn`; sublayers `conv1_*`, `conv2_*`. Inputs must have
    even spatial sizes (the upsample restores 2·ceil(H/2)).

    Example:
    >>> import numpy as np
    >>> tuple(HarmoniousSpatialAttention()(np.random.rand(2, 8, 4, 16).astype("float32")).shape)
    (2, 8, 4, 1)

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018 (Fig. 2b); torchreid `hacnn.SpatialAttn`.
    """

    def build(self, input_shape):
        shape = (*input_shape[:3], 1)
        shape = build_conv_block(self, "conv1", 1, 3, shape, strides=2)
        self._up_shape = (shape[1] * 2, shape[2] * 2)
        build_conv_block(self, "conv2", 1, 1, (shape[0], *self._up_shape, 1))

    def call(self, inputs, training=None):
        x = ops.mean(inputs, axis=-1, keepdims=True)
        x = call_conv_block(self, "conv1", x, training)
        x = resize_align_corners(x, (x.shape[1] * 2, x.shape[2] * 2))
        return call_conv_block(self, "conv2", x, training)

    def compute_output_shape(self, input_shape):
        h, w = input_shape[1], input_shape[2]
        return (input_shape[0], 2 * ((h + 1) // 2), 2 * ((w + 1) // 2), 1)
