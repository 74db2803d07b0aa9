"""Functional building blocks of the torch-faithful MobileNetV2 (tonylins layout).

Layer names follow the widely used tonylins/pytorch-mobilenet-v2 state_dict
(`features.N.conv.M`), which is also the layout of the real ImageNet weights we can
obtain; torchvision's MobileNetV2 has the same tensors under other names at width 1.0.
"""

import math

from keras import layers

from keras_reid.backbones.resnet_blocks import apply_conv_bn, conv2d
from keras_reid.layers.instance_normalization import InstanceNormalization
from keras_reid.layers.torch_batch_norm import torch_batch_norm

# (expansion t, channels c, repeats n, stride s) — Sandler et al., Table 2.
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
# Index (in `features`) of the last block of each output-stride level: 4, 8, 16, 32.
STAGE_ENDS = {"stage1": 3, "stage2": 6, "stage3": 13, "stage4": 17}


def make_divisible(value, divisor=8):
    """tonylins' rounding: up to the next multiple of `divisor`."""
    return int(math.ceil(value / divisor) * divisor)


def block_specs(width=1.0, output_stride=32):
    """The (index, in, out, stride, expansion) of every inverted residual (features 1..17).

    Widths follow tonylins: the stem stays 32 channels and t=1 blocks keep their width;
    other blocks use `make_divisible(c * width)`. `output_stride=16` sets the stride of
    the 160-channel stage to 1 (the ReID "last stride 1").
    """
    if output_stride not in (16, 32):
        raise ValueError(f"output_stride must be 16 or 32, got {output_stride}.")
    specs, in_channels, index = [], 32, 1
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        out_channels = make_divisible(c * width) if t > 1 else c
        if c == 160 and output_stride == 16:
            s = 1
        for i in range(n):
            specs.append((index, in_channels, out_channels, s if i == 0 else 1, t))
            in_channels = out_channels
            index += 1
    return specs


def last_channels(width):
    return make_divisible(1280 * width) if width > 1.0 else 1280


def apply_stem(x, dtype=None):
    """features.0: conv 3×3/2 (pad 1) → BN → ReLU6."""
    return apply_conv_bn(x, 32, 3, strides=2, name="features_0_conv", dtype=dtype, activation="relu6")


def apply_inverted_residual(x, index, out_channels, strides, expansion, dtype=None, spatial=None, instance_norm=False):
    """One inverted residual block `features.{index}`.

    `spatial`, when given, is a callable `(x, name) -> x` that replaces the depthwise
    3×3 conv + BN + ReLU6 (MobileNetV2_StRA uses it); it returns `(x, extra)` where
    `extra` is collected by the caller (the diversity loss).

    `instance_norm=True` inserts an affine instance normalisation (`{name}_expand_in`,
    initialised to the identity affine map) between the expansion conv's BatchNorm and its
    ReLU6: DualNorm's "IN after the first 1×1 conv of the early bottlenecks", which removes
    per-image style (colour, contrast) statistics. Every other layer keeps its name, so
    ImageNet weights still load by name.
    """
    name = f"features_{index}"
    in_channels = x.shape[-1]
    hidden = int(round(in_channels * expansion))
    y = x
    if expansion != 1:
        if instance_norm:
            y = apply_conv_bn(y, hidden, 1, name=f"{name}_expand_conv", dtype=dtype, activation=None)
            y = InstanceNormalization(epsilon=1e-5, name=f"{name}_expand_in", dtype=dtype)(y)
            y = layers.ReLU(6.0, name=f"{name}_expand_relu6", dtype=dtype)(y)
        else:
            y = apply_conv_bn(y, hidden, 1, name=f"{name}_expand_conv", dtype=dtype, activation="relu6")
    elif instance_norm:
        raise ValueError(f"Block {index} has no expansion conv (t=1); instance_norm needs t > 1.")
    extra = None
    if spatial is None:
        if strides > 1:
            y = layers.ZeroPadding2D(1, name=f"{name}_depthwise_pad", dtype=dtype)(y)
        y = layers.DepthwiseConv2D(
            3,
            strides=strides,
            padding="valid" if strides > 1 else "same",
            use_bias=False,
            depthwise_initializer="he_normal",
            name=f"{name}_depthwise_conv",
            dtype=dtype,
        )(y)
        y = torch_batch_norm(f"{name}_depthwise_bn", dtype=dtype)(y)
        y = layers.ReLU(6.0, name=f"{name}_depthwise_relu6", dtype=dtype)(y)
    else:
        if strides != 1:
            raise ValueError("Attention blocks replace only stride-1 depthwise convolutions.")
        y, extra = spatial(y, name)
    y = conv2d(out_channels, 1, name=f"{name}_project_conv", dtype=dtype)(y)
    y = torch_batch_norm(f"{name}_project_bn", dtype=dtype)(y)
    if strides == 1 and in_channels == out_channels:
        y = layers.Add(name=f"{name}_add", dtype=dtype)([x, y])
    return y, extra


def apply_head_conv(x, width, dtype=None):
    """features.18: 1×1 conv to 1280 (× width when width > 1) → BN → ReLU6."""
    return apply_conv_bn(x, last_channels(width), 1, name="features_18_conv", dtype=dtype, activation="relu6")
