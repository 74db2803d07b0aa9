"""Functional building blocks of the torch-faithful ResNet (torchvision layout, v1.5).

Layer names follow the torchvision state_dict (`layer3.2.conv1` → `layer3_2_conv1`) so a
declarative converter can map PyTorch keys to Keras layers, and so architectures that
insert modules between stages (PCB+CSA, SA-PCB) share names with the plain backbone.
"""

from keras import layers

from keras_reid.layers.torch_batch_norm import torch_batch_norm

RESNET50_BLOCKS = (3, 4, 6, 3)
RESNET_STAGE_FILTERS = (64, 128, 256, 512)


def conv2d(filters, kernel_size, strides=1, name=None, dtype=None, padding="valid"):
    """A bias-free conv with PyTorch's padding: explicit symmetric zero padding, then 'valid'."""
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer="he_normal",
        name=name,
        dtype=dtype,
    )


def apply_conv_bn(x, filters, kernel_size, strides=1, name=None, dtype=None, activation="relu"):
    """`pad → conv → BN (→ ReLU)` with PyTorch semantics: pad = kernel_size // 2 on both sides.

    Keras' 'same' padding pads (0, 1) for stride 2 on even sizes where PyTorch pads
    (1, 1), so the padding is explicit whenever the kernel is larger than 1.
    `name` is the conv's name; the BN is `name` with `conv` replaced by `bn`.
    """
    pad = kernel_size // 2
    if pad:
        x = layers.ZeroPadding2D(pad, name=f"{name}_pad", dtype=dtype)(x)
    x = conv2d(filters, kernel_size, strides, name=name, dtype=dtype)(x)
    x = torch_batch_norm(_bn_name(name), dtype=dtype)(x)
    if activation == "relu":
        x = layers.ReLU(name=f"{name}_relu", dtype=dtype)(x)
    elif activation == "relu6":
        x = layers.ReLU(6.0, name=f"{name}_relu6", dtype=dtype)(x)
    return x


def _bn_name(conv_name):
    head, _, tail = conv_name.rpartition("conv")
    return f"{head}bn{tail}"


def apply_resnet_stem(x, dtype=None):
    """conv1 7×7/2 (pad 3) → bn1 → ReLU → max-pool 3/2 (pad 1); output stride 4."""
    x = apply_conv_bn(x, 64, 7, strides=2, name="conv1", dtype=dtype)
    # Inputs are ReLU outputs (≥ 0), so zero padding is exact for the max-pool.
    x = layers.ZeroPadding2D(1, name="maxpool_pad", dtype=dtype)(x)
    return layers.MaxPooling2D(3, strides=2, name="maxpool", dtype=dtype)(x)


def apply_bottleneck(x, filters, strides, name, dtype=None, expansion=4):
    """torchvision `Bottleneck` (stride on the 3×3 conv2, v1.5)."""
    out_channels = filters * expansion
    shortcut = x
    if strides != 1 or x.shape[-1] != out_channels:
        shortcut = conv2d(out_channels, 1, strides, name=f"{name}_downsample_conv", dtype=dtype)(x)
        shortcut = torch_batch_norm(f"{name}_downsample_bn", dtype=dtype)(shortcut)
    y = apply_conv_bn(x, filters, 1, name=f"{name}_conv1", dtype=dtype)
    y = apply_conv_bn(y, filters, 3, strides=strides, name=f"{name}_conv2", dtype=dtype)
    y = apply_conv_bn(y, out_channels, 1, name=f"{name}_conv3", dtype=dtype, activation=None)
    y = layers.Add(name=f"{name}_add", dtype=dtype)([y, shortcut])
    return layers.ReLU(name=f"{name}_out", dtype=dtype)(y)


def apply_resnet_stage(x, stage, num_blocks, strides, dtype=None):
    """ResNet stage `stage` (1-based, torchvision `layer{stage}`) of plain bottlenecks."""
    filters = RESNET_STAGE_FILTERS[stage - 1]
    for block in range(num_blocks):
        x = apply_bottleneck(
            x, filters, strides if block == 0 else 1, name=f"layer{stage}_{block}", dtype=dtype
        )
    return x


def stage_strides(last_stride):
    """Per-stage strides of a ResNet: (1, 2, 2, last_stride)."""
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}.")
    return (1, 2, 2, last_stride)
