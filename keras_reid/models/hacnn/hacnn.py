import keras
from keras import layers, ops

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.bilinear_sampler import AxisAlignedSampler
from keras_reid.layers.harmonious_attention import HarmoniousAttention
from keras_reid.layers.inception_a import TORCH_KERNEL_INIT, InceptionA
from keras_reid.layers.inception_b import InceptionB
from keras_reid.layers.torch_batch_norm import torch_batch_norm
from keras_reid.models.reid_model import ReIDModel
from keras_reid.utils.normalization import l2_normalize

# torchreid: fixed region scales of θ = [[1, 0, t_x], [0, 0.25, t_y]] and hard-coded resizes.
SCALE_X, SCALE_Y = 1.0, 0.25
REGION_SIZES = ((24, 28), (12, 14), (6, 7))
NUM_REGIONS = 4


@keras_reid_export
class HACNN(ReIDModel):
    """HA-CNN: Harmonious Attention CNN (global branch + 4 hard-attention local streams).

    A port of torchreid's `hacnn` (input exactly 160×64). Stem ConvBlock 3×3/2 (32 ch,
    layer `conv`); global branch of three levels `inception{k}_0` (Inception-A) →
    `inception{k}_1` (Inception-B) → `ha{k}` (harmonious attention), the block output
    multiplied by the soft attention. At each level the hard attention of `ha{k}` gives 4
    region translations; region i of the level's *input* map is cropped with
    θ = [[1, 0, t_x], [0, 0.25, t_y]] (bilinear, zero padding, exact and differentiable),
    resized with align_corners=True to 24×28 / 12×14 / 6×7, added to the previous
    level's local features and fed to `local_conv{k}` (one Inception-B per level, shared
    by the 4 regions). Heads: `fc_global` on GAP of the global map and `fc_local` on the
    concatenated (region-major) GAPs of the local streams, each Linear → BN1d → ReLU to
    512-D. Inference embedding: concat(f_g/‖f_g‖, f_l/‖f_l‖), 1024-D (an epsilon keeps an
    all-zero feature finite, unlike upstream). Training outputs `"global"` and `"local"`
    logits; the training `"embedding"` is the same normalised 1024-D vector.

    Args:
        num_classes: identities of the two classifiers, or None (embedding only).
        channels: widths of the three levels ([128, 256, 384]).
        feature_dim: size of f_g and f_l (512).
        learn_region: False builds the global branch only (embedding f_g, 512-D,
            unnormalised as upstream; the hard attention is computed but unused).
        align_corners: the region sampler's flag. False = PyTorch ≥ 1.3 (what today's
            torchreid computes); True reproduces weights trained with PyTorch < 1.3
            (torchreid's zoo HA-CNN weights predate it).
        image_shape: must be (160, 64, 3) (upstream hard-codes the region sizes).

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("hacnn", num_classes=751)
    >>> model.predict(np.zeros((2, 160, 64, 3), "float32"), verbose=0).shape
    (2, 1024)

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018, arXiv:1802.08122; torchreid `hacnn` (MIT).
    """

    def __init__(
        self,
        num_classes=None,
        channels=(128, 256, 384),
        feature_dim=512,
        learn_region=True,
        align_corners=False,
        image_shape=(160, 64, 3),
        **kwargs,
    ):
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        if self.image_shape != (160, 64, 3):
            raise ValueError(f"HACNN requires image_shape (160, 64, 3), got {self.image_shape}.")
        self.channels = tuple(int(c) for c in channels)
        if len(self.channels) != 3:
            raise ValueError(f"channels must have 3 entries, got {channels}.")
        self.feature_dim = int(feature_dim)
        self.learn_region = bool(learn_region)
        self.align_corners = bool(align_corners)

        inputs = keras.Input(shape=self.image_shape, name="images")
        stem = keras.Sequential(
            [
                layers.ZeroPadding2D(1, name="pad"),
                layers.Conv2D(32, 3, strides=2, kernel_initializer=TORCH_KERNEL_INIT, name="conv"),
                torch_batch_norm("bn"),
                layers.ReLU(name="relu"),
            ],
            name="conv",
        )
        x = stem(inputs)

        level_inputs, thetas = [], []
        for k, filters in enumerate(self.channels, start=1):
            level_inputs.append(x)
            y = InceptionA(filters, name=f"inception{k}_0")(x)
            y = InceptionB(filters, name=f"inception{k}_1")(y)
            attention, theta = HarmoniousAttention(name=f"ha{k}")(y)
            thetas.append(theta)
            x = layers.Multiply(name=f"ha{k}_apply")([y, attention])

        pooled = layers.GlobalAveragePooling2D(name="global_pool")(x)
        f_global = layers.Dense(self.feature_dim, kernel_initializer=TORCH_KERNEL_INIT, name="fc_global_dense")(pooled)
        f_global = torch_batch_norm("fc_global_bn")(f_global)
        f_global = layers.ReLU(name="fc_global_relu")(f_global)
        outputs = {}
        logit_names = []

        if self.learn_region:
            local_convs = [
                InceptionB(filters, name=f"local_conv{k}") for k, filters in enumerate(self.channels, start=1)
            ]
            samplers = [
                AxisAlignedSampler(
                    SCALE_X,
                    SCALE_Y,
                    resize_to=size,
                    align_corners=self.align_corners,
                    name=f"stn{k}",
                )
                for k, size in enumerate(REGION_SIZES, start=1)
            ]
            local_pooling = layers.GlobalAveragePooling2D(name="local_pool")
            region_features = []
            for region in range(NUM_REGIONS):
                local = None
                for level in range(3):
                    translation = thetas[level][:, region, :]
                    crop = samplers[level]([level_inputs[level], translation])
                    if local is not None:
                        crop = layers.Add(name=f"local{level + 1}_{region}_add")([crop, local])
                    local = local_convs[level](crop)
                region_features.append(local_pooling(local))
            f_local = layers.Concatenate(name="local_concat")(region_features)
            f_local = layers.Dense(self.feature_dim, kernel_initializer=TORCH_KERNEL_INIT, name="fc_local_dense")(f_local)
            f_local = torch_batch_norm("fc_local_bn")(f_local)
            f_local = layers.ReLU(name="fc_local_relu")(f_local)
            outputs["embedding"] = ops.concatenate([l2_normalize(f_global), l2_normalize(f_local)], axis=-1)
            if self.num_classes:
                outputs["global"] = self._classifier("classifier_global")(f_global)
                outputs["local"] = self._classifier("classifier_local")(f_local)
                logit_names = ["global", "local"]
        else:
            outputs["embedding"] = f_global
            if self.num_classes:
                outputs["global"] = self._classifier("classifier_global")(f_global)
                logit_names = ["global"]
        self._set_network(inputs, outputs, logit_names)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": list(self.channels),
                "feature_dim": self.feature_dim,
                "learn_region": self.learn_region,
                "align_corners": self.align_corners,
            }
        )
        return config
