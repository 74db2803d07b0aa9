import keras

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.resnet_blocks import (
    RESNET50_BLOCKS,
    apply_resnet_stage,
    apply_resnet_stem,
    stage_strides,
)


@keras_reid_export
class ResNetBackbone(keras.Model):
    """A torch-faithful ResNet (torchvision layout, v1.5) returning its last feature map.

    Unlike `keras.applications.ResNet50` (stride on the first 1×1 conv, conv biases,
    epsilon 1.001e-5), this is torchvision's network: stride on the 3×3 conv, explicit
    symmetric zero padding wherever stride > 1, bias-free convs, BatchNorm epsilon 1e-5 and
    momentum 0.1 (Keras 0.9). PyTorch ImageNet weights therefore load exactly.

    The intermediate stage outputs are exposed as `backbone.stage_outputs`
    (`{"stage1": ..., "stage4": ...}`, strides 4, 8, 16, 16 or 32) and
    `backbone.feature_extractor` returns them all.

    Args:
        stackwise_num_blocks: blocks per stage; (3, 4, 6, 3) is ResNet-50.
        last_stride: 1 (ReID: 16× output stride, doubles the final resolution) or 2.
        image_shape: `(H, W, 3)` input shape; ReID uses (256, 128, 3).

    Example:
    >>> import numpy as np
    >>> backbone = ResNetBackbone(image_shape=(64, 32, 3))
    >>> backbone.predict(np.zeros((1, 64, 32, 3)), verbose=0).shape
    (1, 4, 2, 2048)

    Reference: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016;
    torchvision `resnet50`.
    """

    def __init__(
        self,
        stackwise_num_blocks=RESNET50_BLOCKS,
        last_stride=1,
        image_shape=(256, 128, 3),
        dtype=None,
        **kwargs,
    ):
        inputs = keras.Input(shape=tuple(image_shape), name="images")
        x = apply_resnet_stem(inputs, dtype=dtype)
        stages = {}
        for index, (blocks, stride) in enumerate(
            zip(stackwise_num_blocks, stage_strides(last_stride)), start=1
        ):
            x = apply_resnet_stage(x, index, blocks, stride, dtype=dtype)
            stages[f"stage{index}"] = x
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)
        self.stackwise_num_blocks = tuple(stackwise_num_blocks)
        self.last_stride = last_stride
        self.image_shape = tuple(image_shape)
        self.stage_outputs = stages

    @property
    def feature_extractor(self):
        """A model returning every stage output as a dict."""
        return keras.Model(self.inputs, self.stage_outputs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "stackwise_num_blocks": list(self.stackwise_num_blocks),
            "last_stride": self.last_stride,
            "image_shape": list(self.image_shape),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
