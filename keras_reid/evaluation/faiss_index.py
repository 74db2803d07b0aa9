"""Exact nearest-neighbour search over gallery embeddings with FAISS (optional extra)."""

import numpy as np

from keras_reid.evaluation.distance import l2_normalize

__all__ = ["FaissIndex"]


def _import_faiss():
    try:
        import faiss  # noqa: PLC0415
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "FaissIndex needs the optional 'faiss-cpu' package: pip install keras-reid[faiss]"
        ) from e
    return faiss


class FaissIndex:
    """Exact (flat) FAISS index over L2-normalised gallery embeddings.

    ``search`` returns distances in the units of ``compute_distance_matrix`` on the
    normalised embeddings, so rankings match the dense path: ``"cosine"`` gives
    ``1 - cos`` (inner-product index), ``"euclidean"`` the squared Euclidean distance
    (L2 index; torchreid's "euclidean" is squared too). On normalised vectors both
    metrics give the same ranking. Ties and near-ties (within float32 rounding) may
    be ordered differently from NumPy.

    Args:
        gallery: (G, D) gallery embeddings.
        metric: ``"cosine"`` or ``"euclidean"``.
        normalize: L2-normalise gallery and query embeddings (default True).

    Example:

    >>> import numpy as np
    >>> from keras_reid.evaluation import FaissIndex
    >>> gallery = np.eye(3, dtype="float32")
    >>> index = FaissIndex(gallery)  # doctest: +SKIP
    >>> distances, indices = index.search(gallery[:1], k=2)  # doctest: +SKIP
    >>> indices[0, 0]  # doctest: +SKIP
    0

    Reference:
        Johnson et al., "Billion-scale similarity search with GPUs", IEEE TBD 2019.
    """

    def __init__(self, gallery, metric="cosine", normalize=True):
        if metric not in ("cosine", "euclidean"):
            raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}.")
        faiss = _import_faiss()
        gallery = np.asarray(gallery, dtype=np.float32)
        if gallery.ndim != 2:
            raise ValueError(f"gallery must be 2-D (num_gallery, dim), got shape {gallery.shape}.")
        self.metric = metric
        self.normalize = normalize
        if normalize:
            gallery = l2_normalize(gallery)
        gallery = np.ascontiguousarray(gallery)
        dim = gallery.shape[1]
        self.index = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
        self.index.add(gallery)

    @property
    def num_gallery(self):
        return self.index.ntotal

    def search(self, queries, k):
        """Returns the ``k`` nearest gallery items of each query.

        Args:
            queries: (Q, D) query embeddings.
            k: number of neighbours (clipped to the gallery size).

        Returns:
            ``(distances, indices)``, both (Q, k), sorted by increasing distance.
        """
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.index.d:
            raise ValueError(f"queries must have shape (num_query, {self.index.d}), got {queries.shape}.")
        if self.normalize:
            queries = l2_normalize(queries)
        k = min(int(k), self.num_gallery)
        scores, indices = self.index.search(np.ascontiguousarray(queries), k)
        distances = 1.0 - scores if self.metric == "cosine" else scores
        return distances, indices.astype(np.int64)
