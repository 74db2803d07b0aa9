from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.resnet_backbone import ResNetBackbone
from keras_reid.models.global_pooling_reid import GlobalPoolingReID


@keras_reid_export
class ResNet50ReID(GlobalPoolingReID):
    """The ResNet-50 ReID baseline: torch-faithful ResNet-50, last stride 1, 512-D embedding.

    `GlobalPoolingReID` on a `ResNetBackbone`: torchvision ResNet-50 (v1.5) with the last
    stage's stride set to 1 (16× output stride, as in ReID practice). Head, as upstream StRA's `global_avg_pool`:
    global average pooling → 1×1 conv 2048→512 without bias (a Dense on the pooled
    vector) → BatchNorm; its output is the embedding (no ReLU, not normalised). The
    identity classifier is a Linear layer on the embedding.

    Args:
        num_classes: identities of the classifier, or None for an embedding-only model.
        embedding_dim: embedding size (512).
        last_stride: stride of the last ResNet stage (1 for ReID, 2 as ImageNet).
        image_shape: input `(H, W, 3)`, (256, 128, 3) by default.

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("resnet50", num_classes=751, image_shape=(64, 32, 3))
    >>> model.predict(np.zeros((2, 64, 32, 3)), verbose=0).shape
    (2, 512)

    Reference: He et al., CVPR 2016; the baseline of Zhang et al., StRA,
    arXiv:2106.06672, Table 2.
    """

    def __init__(
        self,
        num_classes=None,
        embedding_dim=512,
        last_stride=1,
        image_shape=(256, 128, 3),
        **kwargs,
    ):
        backbone = ResNetBackbone(last_stride=last_stride, image_shape=image_shape)
        super().__init__(backbone, num_classes=num_classes, embedding_dim=embedding_dim, **kwargs)
        self.last_stride = int(last_stride)

    def get_config(self):
        config = self._reid_config()
        config.update({"embedding_dim": self.embedding_dim_, "last_stride": self.last_stride})
        return config
