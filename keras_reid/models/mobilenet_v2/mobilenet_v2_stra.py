from keras import layers

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.local_attention import LocalAttention
from keras_reid.layers.mode_attention import ModeAttention
from keras_reid.layers.torch_batch_norm import torch_batch_norm
from keras_reid.models.mobilenet_v2.mobilenet_v2_reid import MobileNetV2ReID

DEFAULT_STRA_BLOCKS = (15, 16, 17)


@keras_reid_export
class MobileNetV2StRA(MobileNetV2ReID):
    """MobileNetV2_StRA: MobileNetV2 whose last-stage depthwise convs are StRA attention.

    No upstream code exists; this is our design in the paper's spirit. As ResNet50_StRA
    replaces the 3×3 convolution of the last stage's bottlenecks, here the 3×3 depthwise
    convolution (+ BN + ReLU6) of the last stage's inverted residuals (`features.15–17`,
    the stride-1 blocks at output stride 16) is replaced by
    `LocalAttention → ModeAttention → BN → ReLU6` on the expanded width (960 channels at
    width 1.0, 1344 at 1.4). Everything else, including the ImageNet-initialisable
    expand/project convs, is MobileNetV2's, so `mobilenetv2_imagenet` weights load into
    every layer but the attention blocks.

    MobileNetV2's depthwise conv costs 9 MACs per channel and position, far less than
    ResNet's dense 3×3 conv, so the attention blocks are thinned to keep the cost of the
    network within ±5 % of the baseline (the paper reports 370M vs 370M at width 1.0 and
    680M vs 720M at 1.4): the value projection is depthwise (`value_groups=None` means
    one group per channel, like the depthwise conv it replaces) and the mask and pooling
    branches reduce the width 8× (`mask_reduction=pooling_reduction=8`). Measured with
    XLA's cost analysis at 256×128 (`benchmarks/flops_params.py`): see the table in
    `benchmarks/results/flops_params.md`, asserted by `tests/models/mobilenet_v2`.

    Args:
        num_classes: identities of the classifier, or None for an embedding-only model.
        width: width multiplier (1.0 or 1.4).
        stra_blocks: indices (in `features`) of the blocks whose depthwise conv is replaced.
        heads: attention heads G (8).
        kernel_size: local attention window K (3).
        mask_reduction: local attention mask-branch reduction.
        pooling_reduction: mode attention pooling-branch reduction.
        value_groups: groups of the local attention's value projection; None means
            depthwise (one group per channel).
        gating: "sigmoid" or "softmax"; see `ModeAttention`.
        diversity_weight: weight of the summed diversity loss added in training (1.0).
        embedding_dim: embedding size (512).
        output_stride: 16 (ReID default) or 32.
        image_shape: input `(H, W, 3)`.

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("mobilenetv2_stra", num_classes=10, image_shape=(64, 32, 3))
    >>> model.predict(np.zeros((2, 64, 32, 3)), verbose=0).shape
    (2, 512)

    Reference: Zhang et al., StRA, arXiv:2106.06672 (Table 2: mnetv2_StRA).
    """

    def __init__(
        self,
        num_classes=None,
        width=1.0,
        stra_blocks=DEFAULT_STRA_BLOCKS,
        heads=8,
        kernel_size=3,
        mask_reduction=8,
        pooling_reduction=8,
        value_groups=None,
        gating="sigmoid",
        diversity_weight=1.0,
        embedding_dim=512,
        output_stride=16,
        image_shape=(256, 128, 3),
        **kwargs,
    ):
        self.stra_blocks = tuple(int(i) for i in stra_blocks)
        self.heads = int(heads)
        self.kernel_size = int(kernel_size)
        self.mask_reduction = int(mask_reduction)
        self.pooling_reduction = int(pooling_reduction)
        self.value_groups = None if value_groups is None else int(value_groups)
        self.gating = gating
        self.diversity_weight = float(diversity_weight)
        super().__init__(
            num_classes=num_classes,
            width=width,
            embedding_dim=embedding_dim,
            output_stride=output_stride,
            image_shape=image_shape,
            **kwargs,
        )

    def _spatial_block(self, index):
        if index not in self.stra_blocks:
            return None

        def block(x, name):
            channels = x.shape[-1]
            x = LocalAttention(
                channels,
                heads=self.heads,
                kernel_size=self.kernel_size,
                mask_reduction=self.mask_reduction,
                value_groups=self.value_groups or channels,
                name=f"{name}_local_attention",
            )(x)
            x, diversity = ModeAttention(
                heads=self.heads,
                gating=self.gating,
                pooling_reduction=self.pooling_reduction,
                name=f"{name}_mode_attention",
            )(x)
            x = torch_batch_norm(f"{name}_attention_bn")(x)
            return layers.ReLU(6.0, name=f"{name}_attention_relu6")(x), diversity

        return block

    def _diversity_weight(self):
        return self.diversity_weight

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stra_blocks": list(self.stra_blocks),
                "heads": self.heads,
                "kernel_size": self.kernel_size,
                "mask_reduction": self.mask_reduction,
                "pooling_reduction": self.pooling_reduction,
                "value_groups": self.value_groups,
                "gating": self.gating,
                "diversity_weight": self.diversity_weight,
            }
        )
        return config
