import numpy as np
import pytest

from keras_reid.evaluation import compute_distance_matrix, l2_normalize


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_metrics_match_definitions(dtype):
    seed = int(np.random.SeedSequence().entropy % (2**32))
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(7, 5)).astype(dtype), rng.normal(size=(11, 5)).astype(dtype)
    diff = a[:, None, :].astype("float64") - b[None, :, :]
    sq = (diff**2).sum(-1)
    tol = 1e-4 if dtype == "float32" else 1e-10
    for metric in ("euclidean", "sqeuclidean"):  # torchreid's "euclidean" is squared
        out = compute_distance_matrix(a, b, metric, chunk_size=3)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, sq, rtol=tol, atol=tol, err_msg=f"seed={seed}")
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_allclose(
        compute_distance_matrix(a, b, "cosine", chunk_size=4), 1 - an @ bn.T, rtol=tol, atol=tol
    )


def test_l2_normalize_and_errors():
    np.testing.assert_allclose(l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0, 0]])
    with pytest.raises(ValueError, match="Unknown distance metric"):
        compute_distance_matrix(np.zeros((1, 2)), np.zeros((1, 2)), "l1")
    with pytest.raises(ValueError, match="same feature size"):
        compute_distance_matrix(np.zeros((1, 2)), np.zeros((1, 3)))
