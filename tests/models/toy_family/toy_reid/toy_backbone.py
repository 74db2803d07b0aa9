import keras
from keras import layers

from keras_reid.layers.torch_batch_norm import torch_batch_norm


@keras.saving.register_keras_serializable(package="toy_reid")
class ToyBackbone(keras.Model):
    """Two `conv 3×3/2 (pad 1) → BN → ReLU` blocks: a backbone small enough for tests.

    Layer names (`block{i}_conv`, `block{i}_bn`) follow the PyTorch module names of the
    upstream `nn.Sequential` (`block{i}.0`, `block{i}.1`), which `layouts/toy_torch.py` maps.

    Args:
        filters: channels of the two blocks.
        image_shape: `(H, W, 3)` input shape.

    Example:
    >>> import numpy as np
    >>> ToyBackbone(image_shape=(32, 16, 3)).predict(np.zeros((1, 32, 16, 3)), verbose=0).shape
    (1, 8, 4, 32)
    """

    def __init__(self, filters=(16, 32), image_shape=(64, 32, 3), **kwargs):
        inputs = keras.Input(shape=tuple(image_shape), name="images")
        x = inputs
        for i, f in enumerate(filters, start=1):
            x = layers.ZeroPadding2D(1, name=f"block{i}_pad")(x)  # PyTorch's symmetric padding
            x = layers.Conv2D(f, 3, strides=2, use_bias=False, name=f"block{i}_conv")(x)
            x = torch_batch_norm(f"block{i}_bn")(x)
            x = layers.ReLU(name=f"block{i}_relu")(x)
        super().__init__(inputs=inputs, outputs=x, **kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.auxiliary_outputs = {}

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "filters": list(self.filters),
                "image_shape": list(self.image_shape)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
