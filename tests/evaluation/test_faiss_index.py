import numpy as np
import pytest

from keras_reid.evaluation import FaissIndex, compute_distance_matrix, l2_normalize


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_ranking_equals_dense_path(metric):
    pytest.importorskip("faiss")
    seed = int(np.random.SeedSequence().entropy % (2**32))
    rng = np.random.default_rng(seed)
    q, g = rng.normal(size=(20, 32)).astype("float32"), rng.normal(size=(150, 32)).astype("float32")
    k = 40
    dist, idx = FaissIndex(g, metric=metric).search(q, k)
    dense = compute_distance_matrix(l2_normalize(q), l2_normalize(g), metric)
    dense_idx = np.argsort(dense, axis=1, kind="stable")[:, :k]
    dense_d = np.take_along_axis(dense, dense_idx, axis=1)
    np.testing.assert_allclose(dist, dense_d, atol=1e-5, err_msg=f"seed={seed}")
    # Same order except where neighbouring dense distances are within float32 rounding.
    gaps = np.diff(dense_d, axis=1)
    ambiguous = np.zeros_like(dense_idx, dtype=bool)
    ambiguous[:, 1:] |= gaps < 1e-5
    ambiguous[:, :-1] |= gaps < 1e-5
    assert (idx == dense_idx)[~ambiguous].all(), f"seed={seed}"
