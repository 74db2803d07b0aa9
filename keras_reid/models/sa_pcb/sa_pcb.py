from keras import layers, ops

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.resnet_backbone import ResNetBackbone
from keras_reid.backbones.resnet_blocks import RESNET50_BLOCKS
from keras_reid.layers.spatial_attention import SpatialAttention
from keras_reid.models.pcb.pcb import apply_part_head, kaiming_fan_out, part_normalized_embedding, stripe_pool
from keras_reid.models.reid_model import ReIDModel


@keras_reid_export
class SAPCB(ReIDModel):
    """SA-PCB: PCB with deeply supervised, parameter-free spatial-attention side branches.

    Exactly upstream HRanWang/Spatial-Attention `reid/models/reSAnet.py` (spec §3.2–3.4):
    torch-faithful ResNet-50, last stride 1; the trunk is **not** modified.

    - Deep supervision DS_k, k = 1, 2, 3, on the output of ResNet stage k:
      `SpatialAttention` (`sa{k}`) → global average pooling → `local_conv_layer{k}`
      (1×1 conv C_k → 256, no bias, no BN, no ReLU) → `classifier_instance_layer{k}`.
    - Parts: stage-4 map → 6 horizontal stripes (official stripe formula) → Dropout
      (0.5) → `local_conv` (1×1 conv 2048→256, no bias, **shared** by the six parts) →
      `feat_bn2d` → ReLU → `classifier_instance0..5`.
    - Global: mean of the six post-ReLU 256-D part vectors → `classifier_instance6`.
    - Inference (`out0`): the six stripe vectors before dropout, each L2-normalised,
      flattened channel-major → 12,288-D (squared Euclidean distance upstream).

    Layer names are the upstream module names (classifiers prefixed `classifier_`);
    the ResNet keeps the torchvision names. Upstream's unused `fusion_conv`, `SA4` and
    `base.fc` are not built. `final_attention=True` adds the paper's optional "SA1"
    (ablation only; unused upstream): a spatial attention `sa4` on the stage-4 map
    before the stripe pooling, which then changes the parts, the global head and the
    test feature.

    **Training** returns `{"embedding", "part_0".."part_5", "global", "aux_1".."aux_3"}`
    (upstream c0..c5, c6, layer1..3). Upstream backpropagates the plain **sum** of the
    ten cross-entropies; the default `ReIDLoss` (equal weights, mean) is that sum up to a
    constant factor 1/10. The paper's text instead states 0.8 part losses + 0.2 deeply
    supervised losses; pass `ReIDLoss(head_weights=...)` for it.

    Args:
        num_classes: identities of the classifiers (upstream hard-codes 751), or None.
        num_parts: horizontal stripes (6).
        reduction_dim: channels of `local_conv` and the DS convs (256).
        dropout: dropout before `local_conv` (0.5; the paper uses 0.47 on Market).
        attention_mode: "upstream" (code, L1-normalised channel mean; default, needed by
            the released weights) or "paper" (softmax of the channel sum).
        final_attention: also apply spatial attention before the final pooling (False).
        last_stride: stride of ResNet stage 4 (1).
        stage_blocks: bottlenecks per ResNet stage ((3, 4, 6, 3) = ResNet-50).
        image_shape: input `(H, W, 3)`, (384, 128, 3) by default (upstream is fixed to it).

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("sa_pcb", num_classes=751, image_shape=(96, 32, 3))
    >>> model.predict(np.zeros((2, 96, 32, 3)), verbose=0).shape
    (2, 12288)
    >>> len(model.logit_names)
    10

    Reference: Wang, Fan, Wang, Jiao, Schiele, "Parameter-Free Spatial Attention Network
    for Person Re-Identification", arXiv:1811.12150.
    """

    def __init__(
        self,
        num_classes=None,
        num_parts=6,
        reduction_dim=256,
        dropout=0.5,
        attention_mode="upstream",
        final_attention=False,
        last_stride=1,
        stage_blocks=RESNET50_BLOCKS,
        image_shape=(384, 128, 3),
        **kwargs,
    ):
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        self.num_parts = int(num_parts)
        self.reduction_dim = int(reduction_dim)
        self.dropout = float(dropout)
        self.attention_mode = SpatialAttention(mode=attention_mode).mode
        self.final_attention = bool(final_attention)
        self.last_stride = int(last_stride)
        self.stage_blocks = tuple(int(b) for b in stage_blocks)

        backbone = ResNetBackbone(
            stackwise_num_blocks=self.stage_blocks, last_stride=self.last_stride, image_shape=self.image_shape
        )
        object.__setattr__(self, "_backbone", backbone)  # its layers are tracked through `network`
        outputs, aux_names = {}, []
        for stage in (1, 2, 3):
            if not self.num_classes:
                break
            a = SpatialAttention(self.attention_mode, name=f"sa{stage}")(backbone.stage_outputs[f"stage{stage}"])
            a = layers.GlobalAveragePooling2D(keepdims=True, name=f"layer{stage}_gap")(a)
            a = layers.Conv2D(
                self.reduction_dim,
                1,
                use_bias=False,
                kernel_initializer=kaiming_fan_out(),
                name=f"local_conv_layer{stage}",
            )(a)
            a = layers.Flatten(name=f"layer{stage}_feature")(a)
            outputs[f"aux_{stage}"] = self._classifier(f"classifier_instance_layer{stage}")(a)
            aux_names.append(f"aux_{stage}")
        x = backbone.output
        if self.final_attention:
            x = SpatialAttention(self.attention_mode, name="sa4")(x)
        parts = stripe_pool(x, self.num_parts)  # (B, P, 2048)
        outputs["embedding"] = part_normalized_embedding(parts)
        h = apply_part_head(parts, self.reduction_dim, self.dropout)
        outputs["part_features"] = h
        part_names = []
        if self.num_classes:
            for i in range(self.num_parts):
                outputs[f"part_{i}"] = self._classifier(f"classifier_instance{i}")(h[:, i])
                part_names.append(f"part_{i}")
            outputs["global"] = self._classifier(f"classifier_instance{self.num_parts}")(ops.mean(h, axis=1))
            part_names.append("global")
        self._set_network(backbone.input, outputs, part_names + aux_names)

    @property
    def backbone(self):
        """The `ResNetBackbone` (unmodified, as upstream); its layers are this model's."""
        return self._backbone

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_parts": self.num_parts,
                "reduction_dim": self.reduction_dim,
                "dropout": self.dropout,
                "attention_mode": self.attention_mode,
                "final_attention": self.final_attention,
                "last_stride": self.last_stride,
                "stage_blocks": list(self.stage_blocks),
            }
        )
        return config
