"""The one tensor L2 normalisation of keras_reid (the NumPy one is `keras_reid.evaluation.l2_normalize`)."""

from keras import ops


def l2_normalize(x, axis=-1, epsilon=1e-12):
    """`x / max(||x||_2, epsilon)` along `axis` in float32, as `torch.nn.functional.normalize`.

    All-zero rows stay zero. Used by the models' test-time features (HA-CNN, PCB's parts)
    and by end-to-end models' normalised embeddings.

    Example:
    >>> import numpy as np
    >>> np.asarray(l2_normalize(np.array([[3.0, 4.0]]))).astype("float64").round(3).tolist()
    [[0.6, 0.8]]
    """
    x = ops.cast(x, "float32")
    norm = ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return x / ops.maximum(norm, epsilon)
