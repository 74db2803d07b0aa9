import keras

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.attention import get_attention, sum_auxiliary
from keras_reid.backbones.mobilenet_v2_blocks import (
    STAGE_ENDS,
    apply_head_conv,
    apply_inverted_residual,
    apply_stem,
    block_specs,
)


@keras_reid_export
class MobileNetV2Backbone(keras.Model):
    """A torch-faithful MobileNetV2 returning the 1×1 head conv's feature map.

    PyTorch semantics throughout: explicit symmetric zero padding before every stride-2
    convolution (Keras 'same' pads asymmetrically), bias-free convs, BatchNorm epsilon
    1e-5 and momentum 0.1 (Keras 0.9), ReLU6. Widths follow tonylins/pytorch-mobilenet-v2,
    the layout of the ImageNet weights converted into the `mobilenetv2_imagenet` preset.

    Attention and style normalisation are constructor arguments: `spatial_attention` (a
    registered `"mobilenetv2_spatial"` attention of `keras_reid.backbones.attention`, e.g.
    `"stra"`) replaces the 3×3 depthwise conv + BN + ReLU6 of the inverted residuals in
    `spatial_attention_blocks`; `instance_norm_blocks` adds DualNorm's instance
    normalisation after those blocks' expansion conv. Every other layer keeps its
    `features_N_*` name, so ImageNet weights load into all of them.

    Intermediate outputs at strides 4, 8, 16 and 16/32 are in `backbone.stage_outputs`;
    the attention's per-sample auxiliary losses in `backbone.auxiliary_outputs`.

    Args:
        width: width multiplier (1.0 or 1.4 in the zoo).
        output_stride: 32 (ImageNet) or 16 (ReID last stride 1).
        image_shape: `(H, W, 3)` input shape.
        instance_norm_blocks: indices of the inverted residuals (`features.N`, 2–17) with an
            instance normalisation after their expansion conv (DualNorm, arXiv:1905.03422).
        spatial_attention: None (depthwise convs) or a registered attention name.
        spatial_attention_blocks: indices of the blocks whose depthwise conv it replaces
            (stride-1 blocks only; (15, 16, 17) is the last stage).
        spatial_attention_args: keyword arguments of the attention (e.g. `heads`).

    Example:
    >>> import numpy as np
    >>> backbone = MobileNetV2Backbone(image_shape=(64, 32, 3), output_stride=16)
    >>> backbone.predict(np.zeros((1, 64, 32, 3)), verbose=0).shape
    (1, 4, 2, 1280)
    >>> stra = MobileNetV2Backbone(image_shape=(64, 32, 3), spatial_attention="stra")
    >>> stra.get_layer("features_15_local_attention").name
    'features_15_local_attention'

    Reference: Sandler et al., "MobileNetV2: Inverted Residuals and Linear
    Bottlenecks", CVPR 2018.
    """

    def __init__(
        self,
        width=1.0,
        output_stride=32,
        image_shape=(256, 128, 3),
        instance_norm_blocks=(),
        spatial_attention=None,
        spatial_attention_blocks=(15, 16, 17),
        spatial_attention_args=None,
        dtype=None,
        **kwargs,
    ):
        specs = block_specs(width, output_stride)
        instance_norm_blocks = tuple(sorted(int(i) for i in instance_norm_blocks))
        unknown = sorted(set(instance_norm_blocks) - {index for index, *_ in specs if index > 1})
        if unknown:
            raise ValueError(f"instance_norm_blocks must be block indices 2..{len(specs)}, got {unknown}.")
        builder = get_attention("mobilenetv2_spatial", spatial_attention) if spatial_attention else None
        attention_blocks = tuple(int(i) for i in spatial_attention_blocks)
        attention_args = dict(spatial_attention_args or {})

        def spatial(x, name):
            return builder(x, name, dtype=dtype, **attention_args)

        inputs = keras.Input(shape=tuple(image_shape), name="images")
        x = apply_stem(inputs, dtype=dtype)
        stages, auxiliary = {}, []
        ends = {v: k for k, v in STAGE_ENDS.items()}
        for index, _, out_channels, strides, expansion in specs:
            x, aux = apply_inverted_residual(
                x,
                index,
                out_channels,
                strides,
                expansion,
                dtype=dtype,
                spatial=spatial if builder is not None and index in attention_blocks else None,
                instance_norm=index in instance_norm_blocks,
            )
            if aux is not None:
                auxiliary.append(aux)
            if index in ends:
                stages[ends[index]] = x
        x = apply_head_conv(x, width, dtype=dtype)
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)
        self.width = float(width)
        self.output_stride = int(output_stride)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.instance_norm_blocks = instance_norm_blocks
        self.spatial_attention = spatial_attention
        self.spatial_attention_blocks = attention_blocks
        self.spatial_attention_args = attention_args
        self.stage_outputs = stages
        diversity = sum_auxiliary(auxiliary)
        self.auxiliary_outputs = {} if diversity is None else {"diversity": diversity}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width": self.width,
            "output_stride": self.output_stride,
            "image_shape": list(self.image_shape),
            "instance_norm_blocks": list(self.instance_norm_blocks),
            "spatial_attention": self.spatial_attention,
            "spatial_attention_blocks": list(self.spatial_attention_blocks),
            "spatial_attention_args": dict(self.spatial_attention_args),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
