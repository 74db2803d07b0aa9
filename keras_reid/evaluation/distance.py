"""Distance matrices between embeddings (NumPy, chunked), as torchreid computes them."""

import numpy as np

__all__ = ["compute_distance_matrix", "l2_normalize"]

_METRICS = ("euclidean", "sqeuclidean", "cosine")


def l2_normalize(x, axis=-1, epsilon=1e-12):
    """L2-normalises ``x`` along ``axis`` like ``torch.nn.functional.normalize``.

    Computes ``x / max(||x||_2, epsilon)``, so all-zero rows stay zero.

    Args:
        x: array of embeddings.
        axis: axis to normalise along.
        epsilon: lower bound of the norm.

    Returns:
        The normalised array, in ``x``'s floating dtype (float32 for integer input).

    Example:

    >>> import numpy as np
    >>> from keras_reid.evaluation import l2_normalize
    >>> l2_normalize(np.array([[3.0, 4.0]])).tolist()
    [[0.6, 0.8]]
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    norm = np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
    return x / np.maximum(norm, np.asarray(epsilon, dtype=x.dtype))


def compute_distance_matrix(a, b, metric="euclidean", chunk_size=1024):
    """Computes the (len(a), len(b)) distance matrix between two sets of embeddings.

    Follows torchreid's ``metrics.compute_distance_matrix``
    (KaiyangZhou/deep-person-reid, ``torchreid/metrics/distance.py``):

    * ``"euclidean"`` returns the **squared** Euclidean distance, as torchreid's
      ``euclidean_squared_distance`` does (``||a||^2 + ||b||^2 - 2 a.b``, not
      clipped at 0, so tiny negative values from rounding are possible). The
      ranking equals that of the true Euclidean distance.
    * ``"sqeuclidean"`` is an explicit alias of the same quantity.
    * ``"cosine"`` is ``1 - cos(a, b)`` on L2-normalised rows (``l2_normalize``).

    Rows of ``a`` are processed ``chunk_size`` at a time, so the temporary memory is
    about ``chunk_size * len(b)`` elements besides the output.

    Args:
        a: (m, d) embeddings (e.g. queries).
        b: (n, d) embeddings (e.g. gallery).
        metric: ``"euclidean"`` (squared, like torchreid), ``"sqeuclidean"`` or
            ``"cosine"``.
        chunk_size: rows of ``a`` per chunk.

    Returns:
        (m, n) distances, float32 for float32 inputs, else float64.

    Example:

    >>> import numpy as np
    >>> from keras_reid.evaluation import compute_distance_matrix
    >>> a = np.array([[0.0, 0.0], [1.0, 1.0]], dtype="float32")
    >>> compute_distance_matrix(a, a).tolist()
    [[0.0, 2.0], [2.0, 0.0]]
    """
    if metric not in _METRICS:
        raise ValueError(f"Unknown distance metric {metric!r}; choose one of {_METRICS}.")
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Expected 2-D inputs with the same feature size, got shapes {a.shape} and {b.shape}."
        )
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    if metric == "cosine":
        a, b = l2_normalize(a), l2_normalize(b)
    else:
        b_sq = np.sum(np.square(b), axis=1)
    out = np.empty((a.shape[0], b.shape[0]), dtype=dtype)
    chunk_size = max(1, int(chunk_size))
    for start in range(0, a.shape[0], chunk_size):
        block = a[start : start + chunk_size]
        prod = block @ b.T
        if metric == "cosine":
            out[start : start + chunk_size] = 1 - prod
        else:
            a_sq = np.sum(np.square(block), axis=1)
            out[start : start + chunk_size] = (a_sq[:, None] + b_sq[None, :]) - 2 * prod
    return out
