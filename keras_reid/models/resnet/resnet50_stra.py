from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.resnet_backbone import ResNetBackbone
from keras_reid.models.global_pooling_reid import GlobalPoolingReID


@keras_reid_export
class ResNet50StRA(GlobalPoolingReID):
    """ResNet50_StRA: ResNet-50 whose last stage's three bottlenecks use StRA attention.

    `GlobalPoolingReID` on `ResNetBackbone(block_attention="stra")`. Exactly upstream
    `stru_resnet50` (shenao-zhang/StRA): stages 1–3 are torchvision
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
        backbone = ResNetBackbone(
            last_stride=1,
            image_shape=image_shape,
            block_attention="stra",
            block_attention_stages=(4,),
            block_attention_args={"heads": int(heads), "kernel_size": int(kernel_size), "gating": gating},
        )
        super().__init__(
            backbone,
            num_classes=num_classes,
            embedding_dim=embedding_dim,
            diversity_weight=diversity_weight,
            **kwargs,
        )
        self.last_stride = 1
        self.heads = int(heads)
        self.kernel_size = int(kernel_size)
        self.gating = gating

    def get_config(self):
        config = self._reid_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim_,
                "heads": self.heads,
                "kernel_size": self.kernel_size,
                "gating": self.gating,
                "diversity_weight": self.diversity_weight,
            }
        )
        return config
