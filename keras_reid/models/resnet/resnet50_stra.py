import keras

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.stra_bottleneck import StRABottleneck
from keras_reid.models.resnet.resnet50_reid import ResNet50ReID


@keras_reid_export
class ResNet50StRA(ResNet50ReID):
    """ResNet50_StRA: ResNet-50 whose last stage's three bottlenecks use StRA attention.

    Exactly upstream `stru_resnet50` (shenao-zhang/StRA): stages 1–3 are torchvision
    bottlenecks; `layer4` is three `StRABottleneck`s of width 512 (G=8 heads, K=3), all
    stride 1; head GAP → 1×1 conv 2048→512 (no bias) → BN gives the 512-D embedding. In
    training the per-sample diversity losses of the three blocks are summed and
    `diversity_weight · mean(...)` is added with `add_loss` (upstream's λ is unpublished;
    1.0 is the paper's Market setting). Trainable parameters without the classifier:
    17,621,560 (the paper's 17.6 M).

    Args:
        num_classes: identities of the classifier, or None for an embedding-only model.
        embedding_dim: embedding size (512).
        heads: attention heads G (8).
        kernel_size: local attention window K (3).
        gating: "sigmoid" (upstream code, needed by converted weights) or "softmax"
            (the commented-out spatial-softmax gating).
        diversity_weight: weight of the diversity loss added in training (1.0).
        image_shape: input `(H, W, 3)`, (256, 128, 3) by default.

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build("resnet50_stra", num_classes=751, image_shape=(64, 32, 3))
    >>> out = model(np.zeros((2, 64, 32, 3), "float32"), training=True)
    >>> sorted(out), tuple(out["logits"].shape)
    (['embedding', 'logits'], (2, 751))

    Reference: Zhang, Shen, Li, Liu, "Structure-Regularized Attention for Deformable
    Object Representation", arXiv:2106.06672.
    """

    def __init__(
        self,
        num_classes=None,
        embedding_dim=512,
        heads=8,
        kernel_size=3,
        gating="sigmoid",
        diversity_weight=1.0,
        image_shape=(256, 128, 3),
        **kwargs,
    ):
        self.heads = int(heads)
        self.kernel_size = int(kernel_size)
        self.gating = gating
        self.diversity_weight = float(diversity_weight)
        super().__init__(
            num_classes=num_classes,
            embedding_dim=embedding_dim,
            last_stride=1,
            image_shape=image_shape,
            **kwargs,
        )

    def _apply_stage4(self, x, strides):
        diversity = []
        for block in range(3):
            x, div = StRABottleneck(
                512,
                heads=self.heads,
                kernel_size=self.kernel_size,
                gating=self.gating,
                name=f"layer4_{block}",
            )(x)
            diversity.append(div)
        total = keras.layers.Add(name="diversity")(diversity)
        return x, {"diversity": total}

    def _auxiliary_weights(self):
        return {"diversity": self.diversity_weight}

    def get_config(self):
        config = super().get_config()
        config.pop("last_stride")
        config.update(
            {
                "heads": self.heads,
                "kernel_size": self.kernel_size,
                "gating": self.gating,
                "diversity_weight": self.diversity_weight,
            }
        )
        return config
