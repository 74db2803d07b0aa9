import keras

from keras_reid.models.global_pooling_reid import GlobalPoolingReID
from .toy_backbone import ToyBackbone


@keras.saving.register_keras_serializable(package="toy_reid")
class ToyNet(GlobalPoolingReID):
    """The toy family's ReID model: `GlobalPoolingReID` on a `ToyBackbone`, 64-D embedding.

    Args:
        num_classes: identities of the classifier, or None for an embedding-only model.
        filters: channels of the backbone's two blocks.
        embedding_dim: embedding size (64).
        image_shape: input `(H, W, 3)`.

    Example:
    >>> import numpy as np, keras_reid
    >>> keras_reid.build("toy_net", image_shape=(32, 16, 3)).predict(np.zeros((2, 32, 16, 3)), verbose=0).shape
    (2, 64)
    """

    def __init__(self, num_classes=None, filters=(16, 32), embedding_dim=64, image_shape=(64, 32, 3), **kwargs):
        backbone = ToyBackbone(filters=filters, image_shape=image_shape)
        super().__init__(backbone, num_classes=num_classes, embedding_dim=embedding_dim, **kwargs)
        self.filters = backbone.filters

    def get_config(self):
        config = self._reid_config()
        config.update({"filters": list(self.filters), "embedding_dim": self.embedding_dim_})
        return config
