"""Tests for keras_reid.evaluation.re_rank against a per-item loop port of torchreid's re_ranking."""

import numpy as np
import pytest

from keras_reid.evaluation import compute_distance_matrix, evaluate_rank, re_rank


def reference_re_ranking(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    """Straight loop port of the k-reciprocal re-ranking (stable argsort for ties)."""
    original_dist = np.concatenate(
        [np.concatenate([q_q_dist, q_g_dist], axis=1), np.concatenate([q_g_dist.T, g_g_dist], axis=1)],
        axis=0,
    )
    original_dist = np.power(original_dist, 2).astype(np.float32)
    original_dist = np.transpose(1.0 * original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist).astype(np.float32)
    initial_rank = np.argsort(original_dist, kind="stable").astype(np.int32)
    query_num = q_g_dist.shape[0]
    all_num = q_g_dist.shape[0] + q_g_dist.shape[1]
    for i in range(all_num):
        forward = initial_rank[i, : k1 + 1]
        backward = initial_rank[forward, : k1 + 1]
        fi = np.where(backward == i)[0]
        k_reciprocal_index = forward[fi]
        expansion = k_reciprocal_index
        for candidate in k_reciprocal_index:
            h = int(np.around(k1 / 2.0)) + 1
            c_forward = initial_rank[candidate, :h]
            c_backward = initial_rank[c_forward, :h]
            c_recip = c_forward[np.where(c_backward == candidate)[0]]
            if len(np.intersect1d(c_recip, k_reciprocal_index)) > 2.0 / 3 * len(c_recip):
                expansion = np.append(expansion, c_recip)
        expansion = np.unique(expansion)
        weight = np.exp(-original_dist[i, expansion])
        V[i, expansion] = 1.0 * weight / np.sum(weight)
    original_dist = original_dist[:query_num]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=np.float32)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    inv_index = [np.where(V[:, i] != 0)[0] for i in range(all_num)]
    jaccard_dist = np.zeros_like(original_dist, dtype=np.float32)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, all_num], dtype=np.float32)
        nonzero = np.where(V[i, :] != 0)[0]
        for j in nonzero:
            images = inv_index[j]
            temp_min[0, images] = temp_min[0, images] + np.minimum(V[i, j], V[images, j])
        jaccard_dist[i] = 1 - temp_min / (2.0 - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    return final_dist[:query_num, query_num:]


def _features(rng, num_q, num_g, num_ids=6, dim=8, noise=0.8):
    centres = rng.normal(size=(num_ids, dim))
    q_pids = rng.integers(0, num_ids, num_q)
    g_pids = rng.integers(0, num_ids, num_g)
    q = (centres[q_pids] + noise * rng.normal(size=(num_q, dim))).astype("float32")
    g = (centres[g_pids] + noise * rng.normal(size=(num_g, dim))).astype("float32")
    return q, g, q_pids, g_pids


@pytest.mark.parametrize("num_q,num_g,k1,k2,lam", [(6, 25, 5, 3, 0.3), (10, 40, 20, 6, 0.3), (5, 30, 7, 1, 0.5)])
def test_matches_loop_reference(num_q, num_g, k1, k2, lam):
    seed = int(np.random.SeedSequence().entropy % (2**32))
    rng = np.random.default_rng(seed)
    q, g, _, _ = _features(rng, num_q, num_g)
    args = (
        compute_distance_matrix(q, g),
        compute_distance_matrix(q, q),
        compute_distance_matrix(g, g),
    )
    out = re_rank(*args, k1=k1, k2=k2, lambda_value=lam)
    ref = reference_re_ranking(*args, k1=k1, k2=k2, lambda_value=lam)
    assert out.shape == (num_q, num_g) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6, err_msg=f"seed={seed}")


def test_properties_on_clustered_data():
    seed = int(np.random.SeedSequence().entropy % (2**32))
    rng = np.random.default_rng(seed)
    q, g, q_pids, g_pids = _features(rng, 30, 120, num_ids=8, dim=16, noise=1.0)
    q_cams, g_cams = np.zeros(30, int), np.ones(120, int)
    qg = compute_distance_matrix(q, g)
    out = re_rank(qg, compute_distance_matrix(q, q), compute_distance_matrix(g, g))
    assert out.shape == (30, 120) and np.isfinite(out).all()
    before = evaluate_rank(qg, q_pids, g_pids, q_cams, g_cams, max_rank=10)["mAP"]
    after = evaluate_rank(out, q_pids, g_pids, q_cams, g_cams, max_rank=10)["mAP"]
    assert after >= before - 1e-9, f"seed={seed}: mAP {before:.4f} -> {after:.4f}"


def test_shape_errors():
    with pytest.raises(ValueError, match="Shapes disagree"):
        re_rank(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 2)))
