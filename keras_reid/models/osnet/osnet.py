from keras import layers

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.osnet_backbone import OSNetBackbone
from keras_reid.layers.torch_batch_norm import torch_batch_norm
from keras_reid.models.reid_model import ReIDModel


@keras_reid_export
class OSNet(ReIDModel):
    """OSNet, the omni-scale network: torchreid's `osnet_*` and `osnet_ain_x1_0`, 512-D embedding.

    An `OSNetBackbone` with torchreid's head. Stem `conv1` 7×7/2 conv → BN → ReLU → max-pool 3×3/2; stages `conv2`, `conv3`,
    `conv4` of two omni-scale blocks each (1×1 reduction to a quarter of the channels,
    four streams of 1–4 lightweight 3×3 convs (1×1 conv + depthwise 3×3), one channel
    gate shared by the streams, their sum, 1×1 expansion, residual, ReLU), a transition
    (1×1 conv → BN → ReLU → average pool 2×2/2) after `conv2` and `conv3`, `conv5` (1×1
    conv → BN → ReLU), global average pooling and the `fc` head (Linear → BatchNorm1d →
    ReLU). Output stride 16. As torchreid in eval mode, the inference embedding is the
    `fc` output `v` (after its ReLU, not L2-normalised); the training `"embedding"` is the
    same `v` (what torchreid's triplet loss sees) and `"logits"` the classifier's output.

    Instance normalisation (`instance_norm`):
    - "none": `osnet_x1_0`, `osnet_x0_75`, `osnet_x0_5`, `osnet_x0_25`.
    - "ibn": `osnet_ibn_x1_0` (IBN-Net style, Pan et al., ECCV 2018): the stem's BN is
      an instance normalisation and each `conv2` block normalises its residual sum per
      instance before the ReLU.
    - "ain": `osnet_ain_x1_0` (OSNet-AIN, the searched architecture): stem IN, and the
      blocks `conv2_0`, `conv2_1`, `conv3_1`, `conv4_0` have an instance normalisation
      in place of `conv3`'s BN, inside the residual branch.
    Every instance normalisation is affine, epsilon 1e-5, and uses each image's own
    statistics at inference (PyTorch `InstanceNorm2d(affine=True)`).

    Layer names follow torchreid's state_dict (`keras_reid.backbones.osnet_blocks`), so
    torchreid checkpoints convert with the `osnet_torchreid` / `osnet_ain_torchreid`
    layouts (`python -m conversion layouts`).

    Args:
        num_classes: identities of the classifier, or None for an embedding-only model.
        width: width multiplier of the channels (64, 256, 384, 512): 1.0, 0.75, 0.5, 0.25.
        instance_norm: "none", "ibn" or "ain" (above).
        feature_dim: size of the `fc` head (512); None drops the head as torchreid's
            `feature_dim=None` does, and the embedding is the pooled `conv5` feature.
        image_shape: input `(H, W, 3)`, (256, 128, 3) by default; H and W at least 16.

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("osnet_x0_25", num_classes=10, image_shape=(64, 32, 3))
    >>> model.predict(np.zeros((2, 64, 32, 3)), verbose=0).shape
    (2, 512)

    Reference: Zhou, Yang, Cavallaro, Xiang, "Omni-Scale Feature Learning for Person
    Re-Identification", ICCV 2019 (arXiv:1905.00953); Zhou, Yang, Cavallaro, Xiang,
    "Learning Generalisable Omni-Scale Representations for Person Re-Identification",
    TPAMI 2021 (arXiv:1910.06827) for OSNet-IBN and OSNet-AIN; torchreid
    `models/osnet.py`, `models/osnet_ain.py` (MIT).
    """

    def __init__(
        self,
        num_classes=None,
        width=1.0,
        instance_norm="none",
        feature_dim=512,
        image_shape=(256, 128, 3),
        **kwargs,
    ):
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        backbone = OSNetBackbone(width=width, instance_norm=instance_norm, image_shape=self.image_shape)
        object.__setattr__(self, "_backbone", backbone)  # its layers are tracked through `network`
        self.width = backbone.width
        self.instance_norm = instance_norm
        self.feature_dim = None if feature_dim is None else int(feature_dim)
        if self.feature_dim is not None and self.feature_dim < 1:
            raise ValueError(f"feature_dim must be a positive integer or None, got {feature_dim}.")
        self.channels = backbone.channels
        inputs, x = backbone.input, backbone.output
        embedding = layers.GlobalAveragePooling2D(name="global_avgpool")(x)
        if self.feature_dim is not None:
            x = layers.Dense(self.feature_dim, name="fc_dense")(embedding)
            x = torch_batch_norm("fc_bn")(x)
            embedding = layers.ReLU(name="fc_relu")(x)
        outputs = {"embedding": embedding}
        logit_names = []
        if self.num_classes:
            outputs["logits"] = self._classifier()(embedding)
            logit_names = ["logits"]
        self._set_network(inputs, outputs, logit_names)

    @property
    def backbone(self):
        """The `OSNetBackbone`; its layers are this model's (shared weights)."""
        return self._backbone

    def get_config(self):
        config = super().get_config()
        config.update({"width": self.width, "instance_norm": self.instance_norm, "feature_dim": self.feature_dim})
        return config
