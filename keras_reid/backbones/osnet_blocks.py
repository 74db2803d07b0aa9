"""Functional building blocks of the torch-faithful OSNet (torchreid `osnet.py` / `osnet_ain.py`).

Layer names follow torchreid's `osnet.py` state_dict with dots replaced by underscores
(`conv2.0.conv1.conv` → `conv2_0_conv1_conv`), with three normalisations so one naming
serves both upstream files:

- a block's streams are `conv2a_0` (osnet.py's un-indexed `conv2a`), `conv2b_0..1`,
  `conv2c_0..2`, `conv2d_0..3`; osnet_ain.py's `conv2.{t}.layers.{i}` is stream
  `"abcd"[t]`, layer `i`;
- the transition after stages 2 and 3 (osnet.py `conv2.2.0`, osnet_ain.py `pool2.0`)
  is `pool2_conv` / `pool2_bn`, followed by `pool2_avgpool`;
- an instance normalisation is `{block}_in` (torchreid `IN`); the stem's keeps
  torchreid's name `conv1_bn` even where it is an `InstanceNormalization`.

Every conv is bias-free (torchreid's `bias=False`) except the gate's fc layers; every
BatchNorm has PyTorch's epsilon 1e-5; every instance normalisation is
`InstanceNorm2d(affine=True)` (epsilon 1e-5, no running statistics: it normalises with
each image's statistics in training and inference alike).
"""

from keras import layers

from keras_reid.backbones.resnet_blocks import conv2d
from keras_reid.layers.channel_gate import ChannelGate
from keras_reid.layers.instance_normalization import InstanceNormalization
from keras_reid.layers.torch_batch_norm import torch_batch_norm

# torchreid osnet_x1_0: stem, stage 2, stage 3, stage 4 (= conv5) channels.
OSNET_CHANNELS = (64, 256, 384, 512)
BLOCKS_PER_STAGE = 2  # torchreid `layers=[2, 2, 2]` for every published variant
BOTTLENECK_REDUCTION = 4
STREAM_NAMES = "abcd"  # stream t (1..4 LightConv3x3 layers): receptive fields 3, 5, 7, 9
INSTANCE_NORM_MODES = ("none", "ibn", "ain")
# osnet_ain_x1_0: which blocks are `OSBlockINin` (IN inside the residual, conv3 without BN).
AIN_BLOCKS = {(2, 0): True, (2, 1): True, (3, 0): False, (3, 1): True, (4, 0): True, (4, 1): False}


def osnet_channels(width=1.0):
    """The four channel widths of OSNet at `width` (x0.75: 48, 192, 288, 384)."""
    channels = tuple(int(round(c * float(width))) for c in OSNET_CHANNELS)
    bad = [c for c in channels if c < BOTTLENECK_REDUCTION or c % BOTTLENECK_REDUCTION]
    if float(width) <= 0 or bad:
        raise ValueError(
            f"width {width} gives channels {channels}; every one must be a positive multiple of "
            f"{BOTTLENECK_REDUCTION} (torchreid's widths are 1.0, 0.75, 0.5 and 0.25)."
        )
    return channels


def apply_conv1x1(x, filters, name, dtype=None, activation=True):
    """torchreid `Conv1x1` (1×1 conv → BN → ReLU) or, `activation=False`, `Conv1x1Linear`."""
    x = conv2d(filters, 1, name=f"{name}_conv", dtype=dtype)(x)
    x = torch_batch_norm(f"{name}_bn", dtype=dtype)(x)
    if activation:
        x = layers.ReLU(name=f"{name}_relu", dtype=dtype)(x)
    return x


def apply_osnet_stem(x, filters, instance_norm=False, dtype=None):
    """conv1: 7×7/2 conv (pad 3) → BN (IN for IBN/AIN) → ReLU, then max-pool 3×3/2 (pad 1)."""
    x = layers.ZeroPadding2D(3, name="conv1_pad", dtype=dtype)(x)
    x = conv2d(filters, 7, strides=2, name="conv1_conv", dtype=dtype)(x)
    if instance_norm:
        x = InstanceNormalization(epsilon=1e-5, name="conv1_bn", dtype=dtype)(x)
    else:
        x = torch_batch_norm("conv1_bn", dtype=dtype)(x)
    x = layers.ReLU(name="conv1_relu", dtype=dtype)(x)
    # ReLU outputs are ≥ 0, so zero padding is exact for the max-pool.
    x = layers.ZeroPadding2D(1, name="maxpool_pad", dtype=dtype)(x)
    return layers.MaxPooling2D(3, strides=2, name="maxpool", dtype=dtype)(x)


def apply_light_conv3x3(x, filters, name, dtype=None):
    """torchreid `LightConv3x3`: 1×1 conv (linear) → depthwise 3×3 (pad 1) → BN → ReLU."""
    x = conv2d(filters, 1, name=f"{name}_conv1", dtype=dtype)(x)
    x = layers.DepthwiseConv2D(
        3, padding="same", use_bias=False, depthwise_initializer="he_normal", name=f"{name}_conv2", dtype=dtype
    )(x)  # stride 1: 'same' pads (1, 1), as PyTorch's padding=1
    x = torch_batch_norm(f"{name}_bn", dtype=dtype)(x)
    return layers.ReLU(name=f"{name}_relu", dtype=dtype)(x)


def apply_os_block(x, out_channels, name, instance_norm="none", dtype=None):
    """One omni-scale residual block `name` (e.g. `conv2_0`).

    `conv1` (1×1 → out/4, BN, ReLU) → four streams of 1, 2, 3, 4 `LightConv3x3` → one
    shared `ChannelGate` applied to each stream → sum → `conv3` (1×1 → out, BN) → + the
    identity (`downsample`: 1×1 conv + BN when the channels differ) → ReLU.

    `instance_norm`: "none"; "ibn" (torchreid osnet.py `OSBlock(IN=True)`): an instance
    normalisation `{name}_in` after the residual sum, before the ReLU; "ain" (osnet_ain.py
    `OSBlockINin`): `conv3` has no BN and is followed by `{name}_in` *inside* the
    residual branch, before the sum.
    """
    if instance_norm not in INSTANCE_NORM_MODES:
        raise ValueError(f"instance_norm must be one of {INSTANCE_NORM_MODES}, got {instance_norm!r}.")
    mid = out_channels // BOTTLENECK_REDUCTION
    identity = x
    x1 = apply_conv1x1(x, mid, f"{name}_conv1", dtype=dtype)
    gate = ChannelGate(name=f"{name}_gate", dtype=dtype)
    gated = []
    for depth, letter in enumerate(STREAM_NAMES, start=1):
        y = x1
        for i in range(depth):
            y = apply_light_conv3x3(y, mid, f"{name}_conv2{letter}_{i}", dtype=dtype)
        gated.append(gate(y))
    x2 = layers.Add(name=f"{name}_streams", dtype=dtype)(gated)
    x3 = conv2d(out_channels, 1, name=f"{name}_conv3_conv", dtype=dtype)(x2)
    if instance_norm == "ain":
        x3 = InstanceNormalization(epsilon=1e-5, name=f"{name}_in", dtype=dtype)(x3)
    else:
        x3 = torch_batch_norm(f"{name}_conv3_bn", dtype=dtype)(x3)
    if identity.shape[-1] != out_channels:
        identity = apply_conv1x1(identity, out_channels, f"{name}_downsample", dtype=dtype, activation=False)
    out = layers.Add(name=f"{name}_add", dtype=dtype)([x3, identity])
    if instance_norm == "ibn":
        out = InstanceNormalization(epsilon=1e-5, name=f"{name}_in", dtype=dtype)(out)
    return layers.ReLU(name=f"{name}_out", dtype=dtype)(out)


def apply_transition(x, name, dtype=None):
    """Between stages: 1×1 conv → BN → ReLU → average pool 2×2/2 (floor, as PyTorch)."""
    x = apply_conv1x1(x, x.shape[-1], name, dtype=dtype)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_avgpool", dtype=dtype)(x)


def block_instance_norm(instance_norm, stage, block):
    """The `apply_os_block` mode of block `block` (0-based) of stage `stage` (2, 3 or 4)."""
    if instance_norm == "ibn":
        return "ibn" if stage == 2 else "none"  # torchreid osnet_ibn_x1_0: IN in conv2's blocks
    if instance_norm == "ain":
        return "ain" if AIN_BLOCKS[(stage, block)] else "none"
    return "none"


def apply_osnet_features(x, channels, instance_norm="none", dtype=None):
    """OSNet's feature maps (torchreid `featuremaps`): stem, stages 2–4, conv5; output stride 16."""
    if instance_norm not in INSTANCE_NORM_MODES:
        raise ValueError(f"instance_norm must be one of {INSTANCE_NORM_MODES}, got {instance_norm!r}.")
    x = apply_osnet_stem(x, channels[0], instance_norm=instance_norm != "none", dtype=dtype)
    for stage, out_channels in zip((2, 3, 4), channels[1:]):
        for block in range(BLOCKS_PER_STAGE):
            mode = block_instance_norm(instance_norm, stage, block)
            x = apply_os_block(x, out_channels, f"conv{stage}_{block}", instance_norm=mode, dtype=dtype)
        if stage < 4:
            x = apply_transition(x, f"pool{stage}", dtype=dtype)
    return apply_conv1x1(x, channels[3], "conv5", dtype=dtype)
