from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.mobilenet_v2_backbone import MobileNetV2Backbone
from keras_reid.models.global_pooling_reid import GlobalPoolingReID


@keras_reid_export
class MobileNetV2ReID(GlobalPoolingReID):
    """The MobileNetV2 ReID baseline: torch-faithful MobileNetV2, output stride 16, 512-D embedding.

    `GlobalPoolingReID` on a `MobileNetV2Backbone`: MobileNetV2 (tonylins layout, width 1.0
    or 1.4) with the 160-channel
    stage's stride set to 1 (16× output stride, the ReID "last stride 1"), then its 1×1
    head conv (1280 channels, 1792 at width 1.4). Head: global average pooling → Dense
    without bias → BatchNorm (the same head as ResNet50_StRA, so the baseline and the
    StRA model differ only in their attention blocks).

    Args:
        num_classes: identities of the classifier, or None for an embedding-only model.
        width: width multiplier (1.0 or 1.4).
        embedding_dim: embedding size (512).
        output_stride: 16 (ReID default) or 32 (ImageNet).
        image_shape: input `(H, W, 3)`, (256, 128, 3) by default.
        instance_norm_blocks: indices of the inverted residual blocks (`features.N`, 2–17)
            that get an instance normalisation after their expansion conv (DualNorm's
            style normalisation, Jia et al., BMVC 2019, arXiv:1905.03422; e.g. `(2, ..., 6)`,
            the 24- and 32-channel stages). Empty by default (plain MobileNetV2).
        bnneck: BNNeck (Luo et al., "Bag of Tricks", CVPRW 2019): the training output
            `"embedding"` (what the triplet loss sees) is the feature *before* the head's
            BatchNorm; the classifier and the inference embedding use the feature after it.
            Changes no weight and no inference output.

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("mobilenetv2", num_classes=10, image_shape=(64, 32, 3))
    >>> model.predict(np.zeros((2, 64, 32, 3)), verbose=0).shape
    (2, 512)

    Reference: Sandler et al., CVPR 2018; the MobileNetV2 baseline of Zhang et al.,
    StRA, arXiv:2106.06672, Table 2.
    """

    def __init__(
        self,
        num_classes=None,
        width=1.0,
        embedding_dim=512,
        output_stride=16,
        image_shape=(256, 128, 3),
        instance_norm_blocks=(),
        bnneck=False,
        **kwargs,
    ):
        backbone = MobileNetV2Backbone(
            width=width,
            output_stride=output_stride,
            image_shape=image_shape,
            instance_norm_blocks=instance_norm_blocks,
        )
        super().__init__(
            backbone,
            num_classes=num_classes,
            embedding_dim=embedding_dim,
            bnneck=bnneck,
            **kwargs,
        )
        self.width = backbone.width
        self.output_stride = backbone.output_stride
        self.instance_norm_blocks = backbone.instance_norm_blocks

    def get_config(self):
        config = self._reid_config()
        config.update(
            {
                "width": self.width,
                "embedding_dim": self.embedding_dim_,
                "output_stride": self.output_stride,
                "instance_norm_blocks": list(self.instance_norm_blocks),
                "bnneck": self.bnneck,
            }
        )
        return config
