import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.inception_a import build_conv_block, call_conv_block


def _half(size):
    return None if size is None else (size + 1) // 2


@keras_reid_export
class InceptionB(keras.layers.Layer):
    """HA-CNN Inception-B: a stride-2 block of three streams (`filters // 4`, `// 4`, `// 2`).

    Stream 1: ConvBlock 1×1 → ConvBlock 3×3 stride 2 (pad 1). Stream 2: ConvBlock 1×1 →
    ConvBlock 3×3 (pad 1) → ConvBlock 3×3 stride 2 (pad 1). Stream 3: 3×3/2 max pooling
    (pad 1) → ConvBlock 1×1 with `filters // 2` channels. Spatial sizes become
    `ceil(size / 2)`. PyTorch pads symmetrically (1, 1) where Keras 'same' would pad
    (0, 1) on even sizes, so all padding is explicit (max pooling pads with −inf).
    Sublayer names follow torchreid (`stream3.0` is the pool, so its conv is `stream3_1_*`).

    Args:
        filters: output channels (a multiple of 4).

    Example:
    >>> import numpy as np
    >>> tuple(InceptionB(128)(np.random.rand(2, 8, 7, 32).astype("float32")).shape)
    (2, 4, 4, 128)

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018 (Fig. 1); torchreid `hacnn.InceptionB`.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        if filters % 4:
            raise ValueError(f"filters must be a multiple of 4, got {filters}.")
        self.filters = int(filters)

    def build(self, input_shape):
        mid = self.filters // 4
        shape = build_conv_block(self, "stream1_0", mid, 1, input_shape)
        build_conv_block(self, "stream1_1", mid, 3, shape, strides=2)
        shape = build_conv_block(self, "stream2_0", mid, 1, input_shape)
        shape = build_conv_block(self, "stream2_1", mid, 3, shape)
        build_conv_block(self, "stream2_2", mid, 3, shape, strides=2)
        build_conv_block(self, "stream3_1", 2 * mid, 1, input_shape)

    def call(self, inputs, training=None):
        s1 = call_conv_block(self, "stream1_0", inputs, training)
        s1 = call_conv_block(self, "stream1_1", s1, training)
        s2 = call_conv_block(self, "stream2_0", inputs, training)
        s2 = call_conv_block(self, "stream2_1", s2, training)
        s2 = call_conv_block(self, "stream2_2", s2, training)
        pooled = ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=float("-inf"))
        pooled = ops.max_pool(pooled, 3, strides=2, padding="valid")
        s3 = call_conv_block(self, "stream3_1", pooled, training)
        return ops.concatenate([s1, s2, s3], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _half(input_shape[1]), _half(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters})
        return config
