from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.mobilenet_v2_backbone import MobileNetV2Backbone
from keras_reid.models.global_pooling_reid import GlobalPoolingReID

DEFAULT_STRA_BLOCKS = (15, 16, 17)


@keras_reid_export
class MobileNetV2StRA(GlobalPoolingReID):
    """MobileNetV2_StRA: MobileNetV2 whose last-stage depthwise convs are StRA attention.

    `GlobalPoolingReID` on `MobileNetV2Backbone(spatial_attention="stra")`. No upstream
    code exists; this is our design in the paper's spirit. As ResNet50_StRA
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
        instance_norm_blocks: see `MobileNetV2ReID`.
        bnneck: see `MobileNetV2ReID`.

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
        instance_norm_blocks=(),
        bnneck=False,
        **kwargs,
    ):
        attention_args = {
            "heads": int(heads),
            "kernel_size": int(kernel_size),
            "mask_reduction": int(mask_reduction),
            "pooling_reduction": int(pooling_reduction),
            "value_groups": None if value_groups is None else int(value_groups),
            "gating": gating,
        }
        backbone = MobileNetV2Backbone(
            width=width,
            output_stride=output_stride,
            image_shape=image_shape,
            instance_norm_blocks=instance_norm_blocks,
            spatial_attention="stra",
            spatial_attention_blocks=stra_blocks,
            spatial_attention_args=attention_args,
        )
        super().__init__(
            backbone,
            num_classes=num_classes,
            embedding_dim=embedding_dim,
            bnneck=bnneck,
            diversity_weight=diversity_weight,
            **kwargs,
        )
        self.width = backbone.width
        self.output_stride = backbone.output_stride
        self.instance_norm_blocks = backbone.instance_norm_blocks
        self.stra_blocks = backbone.spatial_attention_blocks
        for key, value in attention_args.items():
            setattr(self, key, value)

    def get_config(self):
        config = self._reid_config()
        config.update(
            {
                "width": self.width,
                "embedding_dim": self.embedding_dim_,
                "output_stride": self.output_stride,
                "instance_norm_blocks": list(self.instance_norm_blocks),
                "bnneck": self.bnneck,
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
