import keras

from keras_reid.api_export import keras_reid_export
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

    Intermediate outputs at strides 4, 8, 16 and 16/32 are in `backbone.stage_outputs`.

    Args:
        width: width multiplier (1.0 or 1.4 in the zoo).
        output_stride: 32 (ImageNet) or 16 (ReID last stride 1).
        image_shape: `(H, W, 3)` input shape.

    Example:
    >>> import numpy as np
    >>> backbone = MobileNetV2Backbone(image_shape=(64, 32, 3), output_stride=16)
    >>> backbone.predict(np.zeros((1, 64, 32, 3)), verbose=0).shape
    (1, 4, 2, 1280)

    Reference: Sandler et al., "MobileNetV2: Inverted Residuals and Linear
    Bottlenecks", CVPR 2018.
    """

    def __init__(self, width=1.0, output_stride=32, image_shape=(256, 128, 3), dtype=None, **kwargs):
        inputs = keras.Input(shape=tuple(image_shape), name="images")
        x = apply_stem(inputs, dtype=dtype)
        stages = {}
        ends = {v: k for k, v in STAGE_ENDS.items()}
        for index, _, out_channels, strides, expansion in block_specs(width, output_stride):
            x, _ = apply_inverted_residual(x, index, out_channels, strides, expansion, dtype=dtype)
            if index in ends:
                stages[ends[index]] = x
        x = apply_head_conv(x, width, dtype=dtype)
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)
        self.width = width
        self.output_stride = output_stride
        self.image_shape = tuple(image_shape)
        self.stage_outputs = stages

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width": self.width,
            "output_stride": self.output_stride,
            "image_shape": list(self.image_shape),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
