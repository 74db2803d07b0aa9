import keras

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.attention import get_attention, sum_auxiliary
from keras_reid.backbones.resnet_blocks import (
    RESNET50_BLOCKS,
    RESNET_STAGE_FILTERS,
    apply_bottleneck,
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

    Attention is a constructor argument, by registered name (`keras_reid.backbones.attention`):
    `block_attention` replaces every bottleneck of `block_attention_stages` (ResNet50_StRA:
    `"stra"` in stage 4), `stage_attention` inserts a module after each stage of
    `stage_attention_stages` (PCB+CSA: `"csa"` after stages 1–3, layers `csa1`..`csa3`).
    Layer names are torchvision's (`layer3_2_conv1`), so converted weights and every ReID
    model built on this backbone share them.

    The stage outputs (after any stage attention) are `backbone.stage_outputs`
    (`{"stage1": ..., "stage4": ...}`, strides 4, 8, 16, 16 or 32) and
    `backbone.feature_extractor` returns them all; per-sample auxiliary losses of the
    attention blocks (StRA's diversity) are `backbone.auxiliary_outputs`.

    Args:
        stackwise_num_blocks: blocks per stage; (3, 4, 6, 3) is ResNet-50.
        last_stride: 1 (ReID: 16× output stride, doubles the final resolution) or 2.
        image_shape: `(H, W, 3)` input shape; ReID uses (256, 128, 3).
        block_attention: None (torchvision bottlenecks) or a registered `"resnet_block"`
            attention, e.g. `"stra"`.
        block_attention_stages: stages whose bottlenecks `block_attention` replaces ((4,)).
        block_attention_args: keyword arguments of the block attention (e.g. `heads`).
        stage_attention: None or a registered `"resnet_stage"` attention (`"csa"`, `"sa"`).
        stage_attention_stages: stages followed by `stage_attention` ((1, 2, 3)).
        stage_attention_args: keyword arguments of the stage attention (e.g. `groups`).

    Example:
    >>> import numpy as np
    >>> backbone = ResNetBackbone(image_shape=(64, 32, 3))
    >>> backbone.predict(np.zeros((1, 64, 32, 3)), verbose=0).shape
    (1, 4, 2, 2048)
    >>> stra = ResNetBackbone(image_shape=(64, 32, 3), block_attention="stra")
    >>> sorted(stra.auxiliary_outputs)
    ['diversity']

    Reference: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016;
    torchvision `resnet50`.
    """

    def __init__(
        self,
        stackwise_num_blocks=RESNET50_BLOCKS,
        last_stride=1,
        image_shape=(256, 128, 3),
        block_attention=None,
        block_attention_stages=(4,),
        block_attention_args=None,
        stage_attention=None,
        stage_attention_stages=(1, 2, 3),
        stage_attention_args=None,
        dtype=None,
        **kwargs,
    ):
        block_builder = get_attention("resnet_block", block_attention) if block_attention else None
        stage_builder = get_attention("resnet_stage", stage_attention) if stage_attention else None
        block_args = dict(block_attention_args or {})
        stage_args = dict(stage_attention_args or {})
        block_stages = tuple(int(s) for s in block_attention_stages)
        attention_stages = tuple(int(s) for s in stage_attention_stages)
        inputs = keras.Input(shape=tuple(image_shape), name="images")
        x = apply_resnet_stem(inputs, dtype=dtype)
        stages, auxiliary = {}, []
        for index, (blocks, stride) in enumerate(zip(stackwise_num_blocks, stage_strides(last_stride)), start=1):
            filters = RESNET_STAGE_FILTERS[index - 1]
            for block in range(blocks):
                name, strides = f"layer{index}_{block}", stride if block == 0 else 1
                if block_builder is not None and index in block_stages:
                    x, aux = block_builder(x, filters, strides, name, dtype=dtype, **block_args)
                    if aux is not None:
                        auxiliary.append(aux)
                else:
                    x = apply_bottleneck(x, filters, strides, name=name, dtype=dtype)
            if stage_builder is not None and index in attention_stages:
                x = stage_builder(x, index, dtype=dtype, **stage_args)
            stages[f"stage{index}"] = x
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)
        self.stackwise_num_blocks = tuple(int(b) for b in stackwise_num_blocks)
        self.last_stride = int(last_stride)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.block_attention = block_attention
        self.block_attention_stages = block_stages
        self.block_attention_args = block_args
        self.stage_attention = stage_attention
        self.stage_attention_stages = attention_stages
        self.stage_attention_args = stage_args
        self.stage_outputs = stages
        diversity = sum_auxiliary(auxiliary)
        self.auxiliary_outputs = {} if diversity is None else {"diversity": diversity}

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
            "block_attention": self.block_attention,
            "block_attention_stages": list(self.block_attention_stages),
            "block_attention_args": dict(self.block_attention_args),
            "stage_attention": self.stage_attention,
            "stage_attention_stages": list(self.stage_attention_stages),
            "stage_attention_args": dict(self.stage_attention_args),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
