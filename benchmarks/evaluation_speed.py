"""Speed of keras_reid.evaluation.evaluate_rank on a Market-1501-sized synthetic problem.

Run from the repository root:

    python benchmarks/evaluation_speed.py [--ref-queries 200] [--out benchmarks/results/evaluation_speed.md]

The problem mirrors Market-1501's test split after torchreid's parsing: 3,368 queries of
750 identities (one query per identity and camera, up to 6 cameras), a gallery of 15,913 images
(751 identities, ~17 images each spread over 6 cameras, plus 2,793 distractors with pid 0),
so that ~14 true matches remain per query after same-camera removal. Distances are float32
cosine distances between synthetic 128-d embeddings (identity centre + noise), so they
correlate with identity. Everything printed and written is measured on this machine; the
reference time for all queries is extrapolated from a measured subset and labelled as such.
"""

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from common import cpu_model  # noqa: E402
from keras_reid.evaluation import compute_distance_matrix, evaluate_rank  # noqa: E402
from tests.evaluation.test_rank import reference_eval_market1501  # noqa: E402


def market_like_problem(seed=0, dim=128, noise=1.4):
    rng = np.random.default_rng(seed)
    num_ids, num_cams, num_distractors = 751, 6, 2793
    num_gallery_ids = 15913 - num_distractors  # 13,120 images of the 751 identities
    centres = rng.standard_normal((num_ids, dim)).astype("float32")
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    # Gallery: ~17.5 images per identity, cameras drawn uniformly.
    g_ids = np.concatenate([np.arange(num_ids), rng.integers(0, num_ids, num_gallery_ids - num_ids)])
    g_cams = rng.integers(0, num_cams, g_ids.size)
    # Queries: one per (identity, camera) pair present in the gallery, subsampled to 3,368.
    pairs = np.unique(np.stack([g_ids, g_cams], 1), axis=0)
    pairs = pairs[rng.choice(len(pairs), 3368, replace=False)]
    q_ids, q_cams = pairs[:, 0], pairs[:, 1]
    g_feat = centres[g_ids] + noise * rng.standard_normal((g_ids.size, dim)).astype("float32") / np.sqrt(dim)
    q_feat = centres[q_ids] + noise * rng.standard_normal((q_ids.size, dim)).astype("float32") / np.sqrt(dim)
    d_feat = rng.standard_normal((num_distractors, dim)).astype("float32")
    g_feat = np.concatenate([g_feat, d_feat])
    g_pids = np.concatenate([g_ids + 1, np.zeros(num_distractors, dtype=g_ids.dtype)])
    g_camids = np.concatenate([g_cams, rng.integers(0, num_cams, num_distractors)])
    perm = rng.permutation(g_pids.size)
    g_feat, g_pids, g_camids = g_feat[perm], g_pids[perm], g_camids[perm]
    distmat = compute_distance_matrix(q_feat.astype("float32"), g_feat.astype("float32"), metric="cosine")
    return distmat, q_ids + 1, g_pids, q_cams, g_camids



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "evaluation_speed.md"))
    args = parser.parse_args()

    problem = market_like_problem()
    distmat, q_pids, g_pids, q_camids, g_camids = problem
    same = (q_pids[:, None] == g_pids[None, :]) & (q_camids[:, None] != g_camids[None, :])
    matches_per_query = same.sum(1)
    del same

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = evaluate_rank(*problem, max_rank=50)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    evaluate_rank(*problem, max_rank=50)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # Worst case for the candidate path: distances unrelated to identity (an untrained model).
    noise_d = np.random.default_rng(1).random(distmat.shape, dtype=np.float32)
    t0 = time.perf_counter()
    out_random = evaluate_rank(noise_d, *problem[1:], max_rank=50)
    t_random = time.perf_counter() - t0
    del noise_d

    n_ref = min(args.ref_queries, distmat.shape[0])
    sub = (distmat[:n_ref], q_pids[:n_ref], g_pids, q_camids[:n_ref], g_camids)
    t0 = time.perf_counter()
    ref = reference_eval_market1501(*sub, max_rank=50)
    t_ref = time.perf_counter() - t0
    sub_fast = evaluate_rank(*sub, max_rank=50)
    agree = (
        np.allclose(sub_fast["cmc"], ref[0], rtol=1e-12, atol=1e-12)
        and abs(sub_fast["mAP"] - ref[1]) <= 1e-12
        and abs(sub_fast["mINP"] - ref[2]) <= 1e-12
    )
    t_ref_full = t_ref * distmat.shape[0] / n_ref

    med = statistics.median(times)
    try:
        commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True).strip()
    except Exception:
        commit = "unknown"
    lines = [
        "# evaluate_rank speed (Market-1501-sized synthetic problem)",
        "",
        f"Command: `python benchmarks/evaluation_speed.py --ref-queries {args.ref_queries} --repeats {args.repeats}`"
        f" (at commit {commit}, run while other jobs may share the CPUs)",
        "",
        f"Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}.",
        "",
        f"Problem: {distmat.shape[0]} queries x {distmat.shape[1]} gallery, float32 cosine distances of "
        f"synthetic 128-d embeddings, 751 identities + 2,793 distractors (pid 0), 6 cameras, "
        f"{matches_per_query.mean():.1f} true matches per query on average (min {matches_per_query.min()}, "
        f"max {matches_per_query.max()}) after same-camera removal.",
        "",
        "| Measurement | Value |",
        "| --- | --- |",
        f"| `evaluate_rank`, all {distmat.shape[0]} queries, median of {args.repeats} | {med:.3f} s |",
        f"| `evaluate_rank`, all runs | {', '.join(f'{t:.3f}' for t in times)} s |",
        f"| peak Python-allocated memory during one call (tracemalloc) | {peak / 2**20:.1f} MiB |",
        f"| process max RSS before / after the timed calls (ru_maxrss) | {rss_before / 1024:.0f} / {rss_after / 1024:.0f} MiB |",
        f"| `evaluate_rank` on uniform random distances (untrained-model worst case, mAP {out_random['mAP']:.4f}), 1 run | {t_random:.3f} s |",
        f"| per-query reference (stable-argsort port of torchreid's Python evaluator), {n_ref} queries, measured | {t_ref:.3f} s |",
        f"| reference for all {distmat.shape[0]} queries, **extrapolated** linearly from the {n_ref}-query subset | {t_ref_full:.1f} s |",
        f"| fast vs reference on the {n_ref}-query subset agree to 1e-12 | {agree} |",
        "",
        f"Metrics of the synthetic problem (not a model's score): mAP {out['mAP']:.4f}, "
        f"rank-1 {out['cmc'][0]:.4f}, mINP {out['mINP']:.4f}, valid queries {out['num_valid_queries']}.",
        "",
        "The distance matrix itself (34 MB... 214 MB float32) is an input and is not counted in the peak.",
    ]
    lines[-1] = f"The distance matrix itself ({distmat.nbytes / 2**20:.0f} MiB float32) is an input and is not counted in the tracemalloc peak."
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
