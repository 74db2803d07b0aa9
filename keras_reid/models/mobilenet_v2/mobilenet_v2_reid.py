import keras
from keras import layers

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.mobilenet_v2_blocks import (
    apply_head_conv,
    apply_inverted_residual,
    apply_stem,
    block_specs,
)
from keras_reid.layers.torch_batch_norm import torch_batch_norm
from keras_reid.models.reid_model import ReIDModel


@keras_reid_export
class MobileNetV2ReID(ReIDModel):
    """The MobileNetV2 ReID baseline: torch-faithful MobileNetV2, output stride 16, 512-D embedding.

    Backbone: MobileNetV2 (tonylins layout, width 1.0 or 1.4) with the 160-channel
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
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        self.width = float(width)
        self.embedding_dim_ = int(embedding_dim)
        self.output_stride = int(output_stride)
        self.instance_norm_blocks = tuple(sorted(int(i) for i in instance_norm_blocks))
        self.bnneck = bool(bnneck)
        specs = block_specs(self.width, self.output_stride)
        unknown = sorted(set(self.instance_norm_blocks) - {index for index, *_ in specs if index > 1})
        if unknown:
            raise ValueError(f"instance_norm_blocks must be block indices 2..{len(specs)}, got {unknown}.")
        inputs = keras.Input(shape=self.image_shape, name="images")
        x = apply_stem(inputs)
        extras = []
        for index, _, out_channels, strides, expansion in specs:
            x, extra = apply_inverted_residual(
                x,
                index,
                out_channels,
                strides,
                expansion,
                spatial=self._spatial_block(index),
                instance_norm=index in self.instance_norm_blocks,
            )
            if extra is not None:
                extras.append(extra)
        x = apply_head_conv(x, self.width)
        x = layers.GlobalAveragePooling2D(name="global_pool")(x)
        x = layers.Dense(self.embedding_dim_, use_bias=False, kernel_initializer="he_normal", name="head_conv")(x)
        embedding = torch_batch_norm("head_bn")(x)
        outputs = {"embedding": embedding}
        if self.bnneck:
            outputs["metric_embedding"] = x
        auxiliary = {}
        if extras:
            outputs["diversity"] = extras[0] if len(extras) == 1 else layers.Add(name="diversity")(extras)
            auxiliary = {"diversity": self._diversity_weight()}
        logit_names = []
        if self.num_classes:
            outputs["logits"] = self._classifier()(embedding)
            logit_names = ["logits"]
        self._set_network(inputs, outputs, logit_names, auxiliary)

    def _spatial_block(self, index):
        """The replacement of block `index`'s depthwise conv, or None (plain MobileNetV2)."""
        return None

    def _diversity_weight(self):
        return 0.0

    def get_config(self):
        config = super().get_config()
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
