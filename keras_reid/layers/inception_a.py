"""HA-CNN's Inception-A block, and the ConvBlock helpers every HA-CNN layer uses.

`ConvBlock(in, out, k, s, p)` of torchreid's HA-CNN is Conv2d **with bias** → BatchNorm2d
→ ReLU. Layers here create it as two sublayers `{name}_conv` and `{name}_bn` (torchreid's
`{name}.conv` / `{name}.bn`), so a converter maps keys by replacing dots with underscores;
the padding (k // 2 on both sides, PyTorch's) is explicit and symmetric.
"""

import keras
from keras import ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.batch_norm_folded_linear import conv_batch_norm
from keras_reid.layers.torch_batch_norm import torch_batch_norm

# PyTorch's default Conv2d/Linear kernel init (kaiming_uniform with a=√5 = U(±1/√fan_in)).
TORCH_KERNEL_INIT = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_in", "distribution": "uniform"},
}


def _padded(size, pad):
    return None if size is None else size + 2 * pad


def build_conv_block(layer, name, filters, kernel_size, input_shape, strides=1):
    """Creates, builds and attaches `{name}_conv` / `{name}_bn` to `layer`; returns the output shape."""
    policy = layer.dtype_policy
    conv = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=True,
        kernel_initializer=TORCH_KERNEL_INIT,
        name=f"{name}_conv",
        dtype=policy,
    )
    bn = torch_batch_norm(f"{name}_bn", dtype=policy)
    pad = kernel_size // 2
    padded = (input_shape[0], _padded(input_shape[1], pad), _padded(input_shape[2], pad), input_shape[3])
    conv.build(padded)
    out_shape = conv.compute_output_shape(padded)
    bn.build(out_shape)
    setattr(layer, f"{name}_conv", conv)
    setattr(layer, f"{name}_bn", bn)
    return out_shape


def call_conv_block(layer, name, x, training=None):
    """`pad (k // 2, symmetric) → conv (bias) → BN → ReLU` with the sublayers of `build_conv_block`."""
    conv = getattr(layer, f"{name}_conv")
    bn = getattr(layer, f"{name}_bn")
    pad = conv.kernel_size[0] // 2
    if pad:
        x = ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    return ops.relu(conv_batch_norm(conv, bn, x, training))  # folded inside a folded view


@keras_reid_export
class InceptionA(keras.layers.Layer):
    """HA-CNN Inception-A: four streams of `filters // 4` channels each, same spatial size.

    Streams 1–3: ConvBlock 1×1 → ConvBlock 3×3 (pad 1). Stream 4: 3×3/1 average pooling
    with pad 1 **counting the zero padding** (PyTorch `count_include_pad=True`: border
    outputs are divided by 9) → ConvBlock 1×1. Outputs are concatenated in stream order.
    Sublayer names follow torchreid (`stream1.0.conv` → `stream1_0_conv`; the pool is
    `stream4.0`, so its conv is `stream4_1_*`).

    Args:
        filters: output channels (a multiple of 4).

    Example:
    >>> import numpy as np
    >>> tuple(InceptionA(128)(np.random.rand(2, 8, 4, 32).astype("float32")).shape)
    (2, 8, 4, 128)

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018 (Fig. 1); torchreid `hacnn.InceptionA`.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        if filters % 4:
            raise ValueError(f"filters must be a multiple of 4, got {filters}.")
        self.filters = int(filters)

    def build(self, input_shape):
        mid = self.filters // 4
        for stream in (1, 2, 3):
            shape = build_conv_block(self, f"stream{stream}_0", mid, 1, input_shape)
            build_conv_block(self, f"stream{stream}_1", mid, 3, shape)
        build_conv_block(self, "stream4_1", mid, 1, input_shape)

    def call(self, inputs, training=None):
        outputs = []
        for stream in (1, 2, 3):
            y = call_conv_block(self, f"stream{stream}_0", inputs, training)
            outputs.append(call_conv_block(self, f"stream{stream}_1", y, training))
        pooled = ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]])
        pooled = ops.average_pool(pooled, 3, strides=1, padding="valid")
        outputs.append(call_conv_block(self, "stream4_1", pooled, training))
        return ops.concatenate(outputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters})
        return config
