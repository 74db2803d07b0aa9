import keras
from keras import layers, ops

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.resnet_backbone import ResNetBackbone
from keras_reid.backbones.resnet_blocks import RESNET50_BLOCKS
from keras_reid.layers.torch_batch_norm import torch_batch_norm
from keras_reid.losses.reid_loss import ReIDLoss
from keras_reid.models.reid_model import ReIDModel
from keras_reid.utils.normalization import l2_normalize

ATTENTIONS = (None, "csa", "sa")


def kaiming_fan_out():
    """PyTorch `kaiming_normal_(mode="fan_out")`, the upstream init of `local_conv`."""
    return keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="untruncated_normal")


def stripe_pool(x, num_parts):
    """Average-pools `num_parts` horizontal stripes of `x` `(B, H, W, C)` → `(B, num_parts, C)`.

    As the official PCB / SA-PCB code: stride `sx = H // num_parts`, window
    `kx = H - (num_parts - 1)·sx` rows over the full width. With H divisible by
    `num_parts` (24 rows at 384×128) these are non-overlapping equal stripes, identical
    to torchreid's `AdaptiveAvgPool2d((6, 1))`; otherwise the windows overlap as in the
    official code (and differ from the adaptive bins).
    """
    height = x.shape[1]
    stride = height // num_parts
    if stride < 1:
        raise ValueError(f"Feature map height {height} is smaller than num_parts={num_parts}.")
    window = height - (num_parts - 1) * stride
    parts = [ops.mean(x[:, i * stride : i * stride + window], axis=(1, 2)) for i in range(num_parts)]
    return ops.stack(parts, axis=1)


def part_normalized_embedding(parts):
    """Per-part L2 normalisation of `(B, P, C)` and a channel-major flatten → `(B, C·P)`.

    The upstream test feature (`out0` of the official PCB and SA-PCB code, torchreid
    `pcb_p6` eval output): each part vector divided by its L2 norm (clamped at 1e-12 as
    `F.normalize`), flattened like the PyTorch `(B, C, P, 1)` tensor (index `c·P + p`).
    """
    x = l2_normalize(parts)
    return ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, parts.shape[1] * parts.shape[2]))


def apply_part_head(parts, reduction_dim, dropout):
    """The part head shared by PCB and SA-PCB: `(B, P, C)` stripe vectors → `(B, P, reduction_dim)`.

    Dropout → `local_conv` (one 1×1 conv 2048→256 without bias, shared by every part as
    upstream) → `feat_bn2d` (BatchNorm over batch × parts, as BatchNorm2d) → ReLU.
    """
    num_parts = parts.shape[1]
    h = layers.Dropout(dropout, name="dropout")(parts)
    h = layers.Reshape((num_parts, 1, parts.shape[-1]), name="parts_map")(h)
    h = layers.Conv2D(reduction_dim, 1, use_bias=False, kernel_initializer=kaiming_fan_out(), name="local_conv")(h)
    h = torch_batch_norm("feat_bn2d")(h)
    h = layers.ReLU(name="feat_relu")(h)
    return layers.Reshape((num_parts, reduction_dim), name="part_features")(h)


@keras_reid_export
class PCB(ReIDModel):
    """PCB (part-based convolutional baseline), optionally with CSA or full self-attention.

    Backbone: `ResNetBackbone` (torchvision layer names), last stride 1, so a
    384×128 input gives a 24×8×2048 map T. T is split into `num_parts` (6) horizontal
    stripes, each average-pooled to a 2048-D vector g_i (official PCB stripe formula, see
    `stripe_pool`). Head as torchreid `pcb_p6` / the official code: Dropout(0.5) →
    `local_conv` (1×1 conv 2048→256, no bias, shared by the parts as upstream) →
    `feat_bn2d` (BN over batch × parts, as BatchNorm2d) → ReLU → h_i (256-D) → one
    `classifier_instance{i}` Linear per part.

    With `attention="csa"` (PCB+CSA) or `"sa"` (PCB+SA, non-local self-attention) a
    module (`csa{s}` / `sa{s}`, the backbone's `stage_attention`) is inserted in the trunk
    after each ResNet stage s in
    `attention_stages` (1, 2, 3: "between adjacent stages", CSA paper Fig. 4), each
    followed in training by a deep-supervision branch: global average pooling →
    `classifier_aux{s}` (Linear), cross-entropy with weight λ (Eq. 8).

    **Inference** returns the test feature of torchreid `pcb_p6` and the official code
    (`embedding="pooled"`): the six g_i, each L2-normalised, flattened channel-major →
    12,288-D at C=2048. `embedding="reduced"` returns the six h_i instead (1,536-D, the
    paper's alternative; not normalised).

    **Training** returns `{"embedding", "part_0".."part_5", "aux_1".."aux_3"}`: one logits
    tensor per part classifier and, with attention and `deep_supervision`, one per
    deep-supervision branch (named by the stage it follows). `compile()` without a loss
    uses `ReIDLoss(head_weights=model.default_head_weights())`: parts weigh 1 and aux
    heads λ = `deep_supervision_weight`; ReIDLoss divides by the weight sum, so this is
    Eq. 8 with L_main = Σ part CEs (the official code's summed part losses) up to a
    constant factor 1/(6 + 3λ).

    Args:
        num_classes: identities of the classifiers, or None for an embedding-only model.
        num_parts: horizontal stripes p (6).
        reduction_dim: size of h_i (256).
        dropout: dropout before `local_conv` in training (0.5).
        attention: None (plain PCB), "csa" or "sa".
        attention_stages: ResNet stages followed by an attention module ((1, 2, 3)).
        csa_num_maps: D, CSA base maps per group (32).
        csa_groups: G, CSA channel groups (2).
        attention_alpha: initial value of the modules' learnable α (0.0: identity at init).
        deep_supervision: add the GAP + FC branch after each attention module (True).
        deep_supervision_weight: λ of Eq. 8 (1.0).
        embedding: "pooled" (12,288-D g, upstream test feature) or "reduced" (h).
        last_stride: stride of ResNet stage 4 (1, as PCB).
        stage_blocks: bottlenecks per ResNet stage ((3, 4, 6, 3) = ResNet-50).
        image_shape: input `(H, W, 3)`, (384, 128, 3) by default (the PCB size).
        part_pooling: None (uniform stripes, `stripe_pool`) or a layer mapping the stage-4
            map `(B, H, W, C)` to part vectors `(B, num_parts, C)`, e.g. PCB-RPP's
            `RefinedPartPooling`.

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("pcb_csa", num_classes=751, image_shape=(96, 32, 3))
    >>> out = model(np.zeros((2, 96, 32, 3), "float32"), training=True)
    >>> model.logit_names
    ['part_0', 'part_1', 'part_2', 'part_3', 'part_4', 'part_5', 'aux_1', 'aux_2', 'aux_3']
    >>> model.predict(np.zeros((2, 96, 32, 3)), verbose=0).shape
    (2, 12288)

    Reference: Sun et al., "Beyond Part Models: Person Retrieval with Refined Part
    Pooling", ECCV 2018; Chen et al., "Compressed Self-Attention for Deep Metric
    Learning", AAAI 2020 (PCB+CSA, PCB+SA).
    """

    def __init__(
        self,
        num_classes=None,
        num_parts=6,
        reduction_dim=256,
        dropout=0.5,
        attention=None,
        attention_stages=(1, 2, 3),
        csa_num_maps=32,
        csa_groups=2,
        attention_alpha=0.0,
        deep_supervision=True,
        deep_supervision_weight=1.0,
        embedding="pooled",
        last_stride=1,
        stage_blocks=RESNET50_BLOCKS,
        image_shape=(384, 128, 3),
        part_pooling=None,
        **kwargs,
    ):
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        if isinstance(part_pooling, dict):
            part_pooling = keras.saving.deserialize_keras_object(part_pooling)
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}.")
        if embedding not in ("pooled", "reduced"):
            raise ValueError(f"embedding must be 'pooled' or 'reduced', got {embedding!r}.")
        self.num_parts = int(num_parts)
        self.reduction_dim = int(reduction_dim)
        self.dropout = float(dropout)
        self.attention = attention
        self.attention_stages = tuple(int(s) for s in attention_stages)
        self.csa_num_maps = int(csa_num_maps)
        self.csa_groups = int(csa_groups)
        self.attention_alpha = float(attention_alpha)
        self.deep_supervision = bool(deep_supervision)
        self.deep_supervision_weight = float(deep_supervision_weight)
        self.embedding = embedding
        self.last_stride = int(last_stride)
        self.stage_blocks = tuple(int(b) for b in stage_blocks)

        self.part_pooling = part_pooling
        backbone = ResNetBackbone(
            stackwise_num_blocks=self.stage_blocks,
            last_stride=self.last_stride,
            image_shape=self.image_shape,
            stage_attention=self.attention,
            stage_attention_stages=self.attention_stages,
            stage_attention_args=self._attention_args(),
        )
        object.__setattr__(self, "_backbone", backbone)  # its layers are tracked through `network`
        outputs, part_names, aux_names = {}, [], []
        if self.attention and self.num_classes and self.deep_supervision:
            for stage in self.attention_stages:
                pooled = layers.GlobalAveragePooling2D(name=f"aux{stage}_pool")(backbone.stage_outputs[f"stage{stage}"])
                outputs[f"aux_{stage}"] = self._classifier(f"classifier_aux{stage}")(pooled)
                aux_names.append(f"aux_{stage}")
        x = backbone.output
        parts = stripe_pool(x, self.num_parts) if part_pooling is None else part_pooling(x)  # (B, P, C)
        h = apply_part_head(parts, self.reduction_dim, self.dropout)
        outputs["part_features"] = h
        if self.embedding == "pooled":
            outputs["embedding"] = part_normalized_embedding(parts)
        else:
            outputs["embedding"] = ops.reshape(
                ops.transpose(h, (0, 2, 1)), (-1, self.num_parts * self.reduction_dim)
            )
        if self.num_classes:
            for i in range(self.num_parts):
                outputs[f"part_{i}"] = self._classifier(f"classifier_instance{i}")(h[:, i])
                part_names.append(f"part_{i}")
        self._aux_names = aux_names
        self._set_network(backbone.input, outputs, part_names + aux_names)

    @property
    def backbone(self):
        """The `ResNetBackbone` (with the attention modules); its layers are this model's."""
        return self._backbone

    def _attention_args(self):
        if self.attention == "csa":
            return {"num_maps": self.csa_num_maps, "groups": self.csa_groups, "alpha": self.attention_alpha}
        return {"alpha": self.attention_alpha}

    # -- training -------------------------------------------------------------------------
    def default_head_weights(self):
        """`{head: weight}` of Eq. 8: parts 1.0, deep-supervision heads λ."""
        weights = {name: 1.0 for name in self.logit_names}
        for name in self._aux_names:
            weights[name] = self.deep_supervision_weight
        return weights

    def compile(self, optimizer="adam", loss=None, **kwargs):
        if loss is None:
            loss = ReIDLoss(head_weights=self.default_head_weights())
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def transfer_weights(self, source):
        """Copies weights layer by layer, by name, from another keras_reid model.

        Used to start a stage of PCB-RPP's induced training from the previous stage (the
        stage-1 PCB has no `local_mask`). Layers whose names or weight shapes differ are
        skipped. Returns `(copied, skipped)` lists of layer names.
        """
        from keras_reid.utils.weights import transfer_weights

        return transfer_weights(source, self)

    # -- serialisation --------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_parts": self.num_parts,
                "reduction_dim": self.reduction_dim,
                "dropout": self.dropout,
                "attention": self.attention,
                "attention_stages": list(self.attention_stages),
                "csa_num_maps": self.csa_num_maps,
                "csa_groups": self.csa_groups,
                "attention_alpha": self.attention_alpha,
                "deep_supervision": self.deep_supervision,
                "deep_supervision_weight": self.deep_supervision_weight,
                "embedding": self.embedding,
                "last_stride": self.last_stride,
                "stage_blocks": list(self.stage_blocks),
            }
        )
        if self.part_pooling is not None:
            config["part_pooling"] = keras.saving.serialize_keras_object(self.part_pooling)
        return config
