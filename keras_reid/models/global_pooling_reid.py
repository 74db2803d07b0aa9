import keras
from keras import layers

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.torch_batch_norm import torch_batch_norm
from keras_reid.models.reid_model import ReIDModel


@keras_reid_export
class GlobalPoolingReID(ReIDModel):
    """The ReID task on any backbone: global pooling → embedding → BatchNorm neck → classifier.

    The task half of the KerasHub backbone/task split: the backbone (a `ResNetBackbone`,
    `MobileNetV2Backbone`, or any functional model with `auxiliary_outputs`) brings the
    feature map and its attention; this class adds global average pooling (`global_pool`),
    a bias-free Dense to `embedding_dim` (`head_conv`, upstream StRA's 1×1 conv on the
    pooled vector), BatchNorm (`head_bn`, the inference embedding) and, with
    `num_classes`, the identity classifier (`classifier`) — plus the contract of
    `ReIDModel` (preprocessing, loss, export). ResNet50ReID, ResNet50_StRA, MobileNetV2ReID
    and MobileNetV2_StRA are this task on their backbones.

    The backbone's layers become the network's own layers (not a nested model), so weight
    files name them as the backbone does, and `model.backbone` shares its weights with the
    model: `model.backbone.trainable = False` freezes the trunk for fine-tuning.

    Args:
        backbone: a backbone model (built with the input shape the task should take).
        num_classes: identities of the classifier, or None for an embedding-only model.
        embedding_dim: embedding size (512).
        bnneck: BNNeck (Luo et al., "Bag of Tricks", CVPRW 2019): the training output
            `"embedding"` (what the triplet loss sees) is the feature *before* `head_bn`; the
            classifier and the inference embedding use the feature after it. Changes no
            weight and no inference output.
        diversity_weight: weight of the backbone's auxiliary loss
            (`backbone.auxiliary_outputs["diversity"]`, StRA's diversity loss) in training.

    Example:
    >>> import numpy as np, keras_reid
    >>> backbone = keras_reid.MobileNetV2Backbone(
    ...     image_shape=(64, 32, 3), output_stride=16, spatial_attention="stra")
    >>> model = keras_reid.GlobalPoolingReID(backbone, num_classes=10)
    >>> model.predict(np.zeros((2, 64, 32, 3)), verbose=0).shape
    (2, 512)
    >>> sorted(model(np.zeros((2, 64, 32, 3), "float32"), training=True))
    ['embedding', 'logits']

    Reference: Luo et al., "Bag of Tricks and A Strong Baseline for Deep Person
    Re-identification", CVPRW 2019; the head of Zhang et al., StRA, arXiv:2106.06672.
    """

    def __init__(self, backbone, num_classes=None, embedding_dim=512, bnneck=False, diversity_weight=1.0, **kwargs):
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        kwargs.pop("image_shape", None)  # the backbone's input shape decides
        super().__init__(num_classes=num_classes, image_shape=backbone.input.shape[1:], **kwargs)
        self.embedding_dim_ = int(embedding_dim)
        self.bnneck = bool(bnneck)
        self.diversity_weight = float(diversity_weight)
        # Not tracked as a sub-model: its layers are tracked through `network` already, and a
        # second path to them would change the layout of `.keras` files.
        object.__setattr__(self, "_backbone", backbone)
        x = layers.GlobalAveragePooling2D(name="global_pool")(backbone.output)
        x = layers.Dense(self.embedding_dim_, use_bias=False, kernel_initializer="he_normal", name="head_conv")(x)
        embedding = torch_batch_norm("head_bn")(x)
        outputs = {"embedding": embedding}
        if self.bnneck:
            outputs["metric_embedding"] = x
        auxiliary = dict(getattr(backbone, "auxiliary_outputs", {}) or {})
        outputs.update(auxiliary)
        logit_names = []
        if self.num_classes:
            outputs["logits"] = self._classifier()(embedding)
            logit_names = ["logits"]
        self._set_network(backbone.input, outputs, logit_names, {name: self.diversity_weight for name in auxiliary})

    @property
    def backbone(self):
        """The backbone model; its layers are this model's layers (shared weights)."""
        return self._backbone

    def get_config(self):
        config = super().get_config()
        config.pop("image_shape")
        config.update(
            {
                "backbone": keras.saving.serialize_keras_object(self.backbone),
                "embedding_dim": self.embedding_dim_,
                "bnneck": self.bnneck,
                "diversity_weight": self.diversity_weight,
            }
        )
        return config

    def _reid_config(self):
        """`ReIDModel`'s part of the config: what the named architectures start from."""
        return ReIDModel.get_config(self)
