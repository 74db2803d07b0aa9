"""Top-k gallery search: exact NumPy in bounded chunks, or a FAISS flat index for large galleries."""

import numpy as np

from keras_reid.evaluation.distance import compute_distance_matrix

# Query × gallery distances held at once by the NumPy path (float32: 4 bytes each).
_CHUNK_ELEMENTS = 1 << 24


def search_gallery(queries, gallery, k=10, metric="cosine", exclude=None, index="auto"):
    """The `k` nearest gallery embeddings of every query, nearest first.

    Args:
        queries: (Q, D) embeddings.
        gallery: (G, D) embeddings (or a `FaissIndex` built on them).
        k: neighbours per query (clipped to what the gallery holds).
        metric: "cosine" (1 − cos) or "euclidean" (squared), as `compute_distance_matrix`.
        exclude: optional list (one per query) of gallery indices never returned for that
            query (e.g. the query image itself when it is also in the gallery).
        index: "exact" (NumPy, chunked so memory stays ~64 MB whatever Q×G), "faiss" (a flat
            FAISS index: exact too), or "auto": the NumPy path, which
            `benchmarks/results/search_speed.md` measures faster than a flat FAISS index on
            a 100,000-image gallery, even one built once; a built `FaissIndex` can be
            passed as `gallery`.

    Returns:
        `(distances, indices)`, float32 and int64 arrays of shape (Q, k'), `k' ≤ k`
        (fewer when the gallery minus the excluded items is smaller than `k`).

    Example:
    >>> import numpy as np
    >>> g = np.eye(4, dtype="float32")
    >>> d, i = search_gallery(g[:2], g, k=2, exclude=[[0], []])
    >>> i.tolist()
    [[1, 2], [1, 0]]
    """
    from keras_reid.evaluation.faiss_index import FaissIndex

    queries = np.asarray(queries, dtype=np.float32)
    if index not in ("auto", "exact", "faiss"):
        raise ValueError(f"index must be 'auto', 'exact' or 'faiss', got {index!r}.")
    exclude = [np.asarray(e, dtype=np.int64) for e in (exclude or [[]] * len(queries))]
    if len(exclude) != len(queries):
        raise ValueError(f"exclude has {len(exclude)} entries for {len(queries)} queries.")
    extra = max((len(e) for e in exclude), default=0)
    if isinstance(gallery, FaissIndex):
        faiss_index, size = gallery, gallery.num_gallery
    else:
        gallery = np.asarray(gallery, dtype=np.float32)
        size, faiss_index = len(gallery), None
        if index == "faiss":
            faiss_index = FaissIndex(gallery, metric=metric, normalize=False)
    want = min(int(k) + extra, size)
    if want < 1:
        raise ValueError("The gallery is empty.")
    if faiss_index is not None:
        dist, idx = faiss_index.search(queries, want)
    else:
        dist, idx = _exact_top_k(queries, gallery, want, metric)
    out_d, out_i = [], []
    for d, i, e in zip(dist, idx, exclude):
        keep = ~np.isin(i, e) if len(e) else np.ones(len(i), bool)
        out_d.append(d[keep][:k])
        out_i.append(i[keep][:k])
    width = min(len(x) for x in out_i) if out_i else 0
    return (
        np.asarray([d[:width] for d in out_d], np.float32).reshape(len(queries), width),
        np.asarray([i[:width] for i in out_i], np.int64).reshape(len(queries), width),
    )


def _exact_top_k(queries, gallery, k, metric):
    rows = max(1, _CHUNK_ELEMENTS // max(1, len(gallery)))
    dists, indices = [], []
    for start in range(0, len(queries), rows):
        d = compute_distance_matrix(queries[start : start + rows], gallery, metric=metric).astype(np.float32)
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(np.arange(d.shape[1]), (len(d), 1))
        pd = np.take_along_axis(d, part, axis=1)
        # Nearest first; ties by gallery index (as a stable argsort of the row).
        order = np.lexsort((part, pd), axis=1)
        dists.append(np.take_along_axis(pd, order, axis=1))
        indices.append(np.take_along_axis(part, order, axis=1))
    return np.concatenate(dists), np.concatenate(indices).astype(np.int64)
