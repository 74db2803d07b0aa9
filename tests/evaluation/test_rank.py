"""Tests for keras_reid.evaluation.rank against a per-query port of torchreid's evaluator."""

import warnings

import numpy as np
import pytest

from keras_reid.evaluation import evaluate_rank


def reference_eval_market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """Plain per-query port of torchreid's Python `eval_market1501` plus fast-reid's mINP.

    Written from the protocol; the only changes from torchreid are the documented ones:
    stable argsort (ties by gallery index), float64 CMC, and rows shorter than
    `max_rank` padded with their last CMC value (1) instead of failing.
    """
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    num_q, num_g = distmat.shape
    if num_g < max_rank:
        max_rank = num_g
    indices = np.argsort(distmat, axis=1, kind="stable")
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc, all_ap, all_inp = [], [], []
    num_valid_q = 0.0
    for q_idx in range(num_q):
        q_pid, q_camid = q_pids[q_idx], q_camids[q_idx]
        order = indices[q_idx]
        remove = (g_pids[order] == q_pid) & (g_camids[order] == q_camid)
        keep = np.invert(remove)
        raw_cmc = matches[q_idx][keep]
        if not np.any(raw_cmc):
            continue
        cmc = raw_cmc.cumsum()
        pos_idx = np.where(raw_cmc == 1)
        max_pos_idx = np.max(pos_idx)
        all_inp.append(cmc[max_pos_idx] / (max_pos_idx + 1.0))
        cmc[cmc > 1] = 1
        cmc = cmc[:max_rank]
        if cmc.size < max_rank:
            cmc = np.concatenate([cmc, np.full(max_rank - cmc.size, cmc[-1])])
        all_cmc.append(cmc)
        num_valid_q += 1.0
        num_rel = raw_cmc.sum()
        tmp_cmc = raw_cmc.cumsum()
        tmp_cmc = [x / (i + 1.0) for i, x in enumerate(tmp_cmc)]
        tmp_cmc = np.asarray(tmp_cmc) * raw_cmc
        all_ap.append(tmp_cmc.sum() / num_rel)
    assert num_valid_q > 0, "Error: all query identities do not appear in gallery"
    all_cmc = np.asarray(all_cmc).astype(np.float64).sum(0) / num_valid_q
    return all_cmc, np.mean(all_ap), np.mean(all_inp), int(num_valid_q)


def random_problem(rng, num_q, num_g, num_ids, num_cams, integer=True, dtype="float32"):
    """Random ReID problem with ties (integer distances), distractors and invalid queries."""
    g_pids = rng.integers(0, num_ids, size=num_g)
    # ~15% distractors (pid 0 / -1 never used by queries) and some queries whose id is absent.
    g_pids[rng.random(num_g) < 0.15] = rng.choice([0, -1])
    q_pids = rng.integers(1, num_ids + 3, size=num_q)
    q_camids = rng.integers(0, num_cams, size=num_q)
    g_camids = rng.integers(0, num_cams, size=num_g)
    if integer:
        distmat = rng.integers(0, 6, size=(num_q, num_g)).astype(dtype)
    else:
        distmat = rng.random((num_q, num_g)).astype(dtype)
    # identity-correlated: true matches tend to be closer
    same = q_pids[:, None] == g_pids[None, :]
    distmat = np.where(same & (rng.random((num_q, num_g)) < 0.5), distmat // 2, distmat)
    return distmat.astype(dtype), q_pids, g_pids, q_camids, g_camids


def assert_same(out, ref):
    cmc, mAP, mINP, nv = ref
    np.testing.assert_allclose(out["mAP"], mAP, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["mINP"], mINP, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["cmc"], cmc, rtol=1e-12, atol=1e-12)
    assert out["num_valid_queries"] == nv


@pytest.mark.parametrize(
    "num_q,num_g,num_ids,num_cams,max_rank,chunk_size",
    [
        (7, 30, 5, 3, 10, None),
        (40, 120, 12, 4, 20, 7),
        (65, 400, 40, 6, 50, 16),
        (20, 9, 4, 2, 50, 3),  # max_rank > num_g: warns and clips
    ],
)
def test_matches_reference_on_random_data(num_q, num_g, num_ids, num_cams, max_rank, chunk_size):
    # One test per size, looping over dtypes and methods (keeps the suite's per-test overhead low).
    seed = int(np.random.SeedSequence().entropy % (2**32))
    rng = np.random.default_rng(seed)
    for dtype in ("float32", "float64", "int64", "float16"):
        for integer in (True, False):
            if dtype == "int64" and not integer:
                continue
            problem = random_problem(rng, num_q, num_g, num_ids, num_cams, integer=integer, dtype=dtype)
            try:
                ref = reference_eval_market1501(*problem, max_rank=max_rank)
            except AssertionError:
                continue  # no valid query in this draw
            for method in ("auto", "candidates", "counting"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = evaluate_rank(*problem, max_rank=max_rank, chunk_size=chunk_size, _method=method)
                try:
                    assert_same(out, ref)
                except AssertionError as e:
                    raise AssertionError(
                        f"mismatch with seed={seed}, dtype={dtype}, integer={integer}, method={method}: {e}"
                    ) from None


@pytest.mark.parametrize("method", ["auto", "candidates", "counting"])
def test_nan_and_signed_zero_follow_stable_argsort(method):
    seed = int(np.random.SeedSequence().entropy % (2**32))
    rng = np.random.default_rng(seed)
    for dtype in ("float32", "float64"):
        distmat, q_pids, g_pids, q_camids, g_camids = random_problem(rng, 30, 80, 8, 3, dtype=dtype)
        distmat[rng.random(distmat.shape) < 0.1] = np.nan
        distmat[distmat == 0] = -0.0 if rng.random() < 0.5 else 0.0
        distmat[rng.random(distmat.shape) < 0.05] = -0.0
        ref = reference_eval_market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=15)
        out = evaluate_rank(
            distmat, q_pids, g_pids, q_camids, g_camids, max_rank=15, chunk_size=4, _method=method
        )
        try:
            assert_same(out, ref)
        except AssertionError as e:
            raise AssertionError(f"mismatch with seed={seed}, dtype={dtype}: {e}") from None


@pytest.mark.parametrize("method", ["auto", "candidates", "counting"])
def test_hand_computed_case(method):
    # One query (pid 1, cam 0); gallery of 6 with distances and (pid, cam):
    #   g0 d=0.4 (1,0) junk: same pid & cam -> removed
    #   g1 d=0.1 (2,1)
    #   g2 d=0.2 (1,1) true match
    #   g3 d=0.3 (3,2)
    #   g4 d=0.5 (1,2) true match
    #   g5 d=0.2 (4,1) ties with g2; g2 has the lower index so it ranks first
    # Kept, sorted list: g1, g2, g5, g3, g4 -> matches [0, 1, 0, 0, 1]
    # CMC = [0, 1, 1, 1, 1]; AP = (1/2 + 2/5) / 2 = 0.45; INP = 2 / 5 = 0.4.
    # A second query (pid 9) has no match in the gallery and is skipped.
    distmat = np.array(
        [[0.4, 0.1, 0.2, 0.3, 0.5, 0.2], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]], dtype="float32"
    )
    out = evaluate_rank(
        distmat,
        q_pids=[1, 9],
        g_pids=[1, 2, 1, 3, 1, 4],
        q_camids=[0, 0],
        g_camids=[0, 1, 1, 2, 2, 1],
        max_rank=5,
        _method=method,
    )
    np.testing.assert_allclose(out["cmc"], [0, 1, 1, 1, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out["mAP"], 0.45, rtol=1e-15)
    np.testing.assert_allclose(out["mINP"], 0.4, rtol=1e-15)
    assert out["num_valid_queries"] == 1


def test_errors_and_warnings():
    d = np.zeros((2, 3), "float32")
    with pytest.raises(ValueError, match="g_pids must have shape"):
        evaluate_rank(d, [1, 2], [1, 2], [0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="2-D"):
        evaluate_rank(np.zeros(3), [1], [1, 2, 3], [0], [1, 1, 1])
    with pytest.raises(ValueError, match="No query has a valid match"):
        evaluate_rank(d, [1, 2], [1, 2, 3], [0, 0], [0, 0, 0], max_rank=3)  # same camera only
    with pytest.warns(UserWarning, match="clipping it to 3"):
        out = evaluate_rank(d, [1, 2], [1, 2, 3], [0, 0], [1, 1, 1], max_rank=50)
    assert out["cmc"].shape == (3,)
