"""BatchNormalization with PyTorch's defaults, used by every torch-faithful layer."""

import keras


def torch_batch_norm(name=None, axis=-1, dtype=None):
    """A `BatchNormalization` with PyTorch's epsilon (1e-5) and momentum (0.1, i.e. Keras 0.9).

    Keras defaults (1e-3, 0.99) would make converted weights compute something else.
    """
    return keras.layers.BatchNormalization(
        axis=axis, epsilon=1e-5, momentum=0.9, name=name, dtype=dtype
    )
