import keras
from keras import layers

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.resnet_blocks import (
    RESNET50_BLOCKS,
    apply_resnet_stage,
    apply_resnet_stem,
    stage_strides,
)
from keras_reid.layers.torch_batch_norm import torch_batch_norm
from keras_reid.models.reid_model import ReIDModel


@keras_reid_export
class ResNet50ReID(ReIDModel):
    """The ResNet-50 ReID baseline: torch-faithful ResNet-50, last stride 1, 512-D embedding.

    Backbone: torchvision ResNet-50 (v1.5) with the last stage's stride set to 1 (16×
    output stride, as in ReID practice). Head, as upstream StRA's `global_avg_pool`:
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
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        self.embedding_dim_ = int(embedding_dim)
        self.last_stride = int(last_stride)
        inputs = keras.Input(shape=self.image_shape, name="images")
        x = apply_resnet_stem(inputs)
        strides = stage_strides(self.last_stride)
        for stage in (1, 2, 3):
            x = apply_resnet_stage(x, stage, RESNET50_BLOCKS[stage - 1], strides[stage - 1])
        x, auxiliary = self._apply_stage4(x, strides[3])
        x = layers.GlobalAveragePooling2D(name="global_pool")(x)
        x = layers.Dense(self.embedding_dim_, use_bias=False, kernel_initializer="he_normal", name="head_conv")(x)
        embedding = torch_batch_norm("head_bn")(x)
        outputs = {"embedding": embedding, **auxiliary}
        logit_names = []
        if self.num_classes:
            outputs["logits"] = self._classifier()(embedding)
            logit_names = ["logits"]
        self._set_network(inputs, outputs, logit_names, self._auxiliary_weights())

    def _apply_stage4(self, x, strides):
        return apply_resnet_stage(x, 4, RESNET50_BLOCKS[3], strides), {}

    def _auxiliary_weights(self):
        return {}

    def get_config(self):
        config = super().get_config()
        config.update({"embedding_dim": self.embedding_dim_, "last_stride": self.last_stride})
        return config
