"""Helpers shared by the benchmark scripts (run as `python benchmarks/NAME.py`, so this
folder is on `sys.path`): the machine description and one `keras-reid eval` call."""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time


def cpu_model():
    """The CPU's model name (Linux `/proc/cpuinfo`), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    """The checkout's short commit hash (`?` without git), for the results' headers."""
    try:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def timeit(fn, warmup, runs):
    """Calls `fn` `warmup` times untimed, then returns the wall times (s) of `runs` calls."""
    return timeit_in_turns([fn], warmup, runs)[0]


def timeit_in_turns(fns, warmup, runs):
    """`timeit` for several functions called in turns (one call of each per round).

    A shared machine's speed drifts within minutes; in turns, every function sees the same
    drift, so their ratios hold. Returns one list of wall times (s) per function.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(runs):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return times


def eval_preset(preset, dataset, root):
    """`keras-reid eval PRESET --dataset DATASET --root ROOT` (cosine, no re-ranking).

    Returns the query/gallery sizes and mAP, rank-1/5/10, mINP in percent; exits when
    the evaluation fails.
    """
    from keras_reid.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "metrics.json")
        if cli(["eval", str(preset), "--dataset", dataset, "--root", str(root), "--json", out, "--cmc-plot", ""]):
            sys.exit(f"keras-reid eval failed for {preset} on {dataset}")
        with open(out) as f:
            m = json.load(f)
    cmc = m["cmc"]
    return {
        "queries": m["num_query"],
        "gallery": m["num_gallery"],
        "mAP": 100 * m["mAP"],
        "rank1": 100 * cmc[0],
        "rank5": 100 * cmc[4],
        "rank10": 100 * cmc[9],
        "mINP": 100 * m["mINP"],
    }


def eval_preset_dg(preset, root, splits=10):
    """`keras-reid eval PRESET --dataset dg --root ROOT` (cosine, 10 seeded splits per benchmark).

    Returns `{benchmark: {"mean": {...}, "std": {...}, "queries", "gallery"}}` in percent.
    """
    from keras_reid.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "dg.json")
        args = ["eval", str(preset), "--dataset", "dg", "--root", str(root), "--splits", str(splits), "--json", out, "--cmc-plot", ""]
        if cli(args):
            sys.exit(f"keras-reid eval failed for {preset} on the DG benchmarks")
        with open(out) as f:
            m = json.load(f)
    return {
        name: {"mean": r["mean"], "std": r["std"], "queries": r["splits"][0]["num_query"], "gallery": r["splits"][0]["num_gallery"]}
        for name, r in m["benchmarks"].items()
    }
