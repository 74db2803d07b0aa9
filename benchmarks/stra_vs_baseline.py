"""StRA versus its baseline over several training seeds, through `keras-reid eval`.

    KERAS_BACKEND=tensorflow python benchmarks/stra_vs_baseline.py \
        --baseline runs/mobilenetv2_cuhk03_s0/preset runs/mobilenetv2_cuhk03_s1/preset \
        --stra runs/mobilenetv2_stra_cuhk03_s0/preset runs/mobilenetv2_stra_cuhk03_s1/preset

The run folders come from `SEED=S zoo/mobilenetv2_cuhk03/build.sh` and
`SEED=S zoo/mobilenetv2_stra_cuhk03/build.sh` (same recipe, same seeds; list the presets in
seed order so the paired differences pair the same seed). Each preset is evaluated on the
CUHK03-partial val protocol (cosine, no re-ranking); the table gives every seed, the mean and
sample standard deviation over seeds, and the per-seed StRA − baseline difference.
Writes benchmarks/results/stra_vs_baseline.{json,md}.
"""

import argparse
import json
import pathlib
import statistics
import sys

from common import eval_preset

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "cuhk03_labeled_partial"
METRICS = ("mAP", "rank1", "rank5", "rank10", "mINP")


def evaluate(preset):
    """Metrics of one preset on CUHK03-partial val, in percent."""
    m = eval_preset(preset, "cuhk03_partial", DATA)
    return {k: m[k] for k in METRICS}


def _seed(preset):
    meta = json.loads((pathlib.Path(preset) / "metadata.json").read_text())
    return meta.get("training", {}).get("seed")


def summarise(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, sd


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", nargs="+", required=True, help="baseline presets, one per seed")
    parser.add_argument("--stra", nargs="+", required=True, help="StRA presets, same seeds in the same order")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this benchmark needs the project's shared datasets.")
    if len(args.baseline) != len(args.stra):
        sys.exit("give one StRA preset per baseline preset (same seeds, same order)")
    rows = []
    for group, presets in (("baseline", args.baseline), ("stra", args.stra)):
        for preset in presets:
            rows.append({"model": group, "preset": preset, "seed": _seed(preset), **evaluate(preset)})
    for b, s in zip(rows[: len(args.baseline)], rows[len(args.baseline):]):
        if b["seed"] != s["seed"]:
            sys.exit(f"seed mismatch: {b['preset']} (seed {b['seed']}) vs {s['preset']} (seed {s['seed']})")

    summary = {}
    for group in ("baseline", "stra"):
        summary[group] = {k: summarise([r[k] for r in rows if r["model"] == group]) for k in METRICS}
    diffs = {k: [s[k] - b[k] for b, s in zip(rows[: len(args.baseline)], rows[len(args.baseline):])] for k in METRICS}
    summary["stra_minus_baseline"] = {k: summarise(v) for k, v in diffs.items()}

    results = ROOT / "benchmarks" / "results"
    (results / "stra_vs_baseline.json").write_text(
        json.dumps({"rows": rows, "summary": summary, "differences": diffs}, indent=2) + "\n"
    )
    n = len(args.baseline)
    cmd = " ".join(["KERAS_BACKEND=tensorflow python benchmarks/stra_vs_baseline.py", "--baseline", *args.baseline,
                    "--stra", *args.stra])
    lines = [
        f"# StRA vs baseline, {n} seed(s), CUHK03-partial val (measured by this project)",
        "",
        f"Command: `{cmd}`",
        "(`keras-reid eval`, cosine distance, no re-ranking, no flip; 451 query / 487 gallery).",
        "",
        "| model | seed | mAP | rank-1 | rank-5 | rank-10 | mINP |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['seed']} | " + " | ".join(f"{r[k]:.1f}" for k in METRICS) + " |")
    lines += ["", f"Mean ± sample s.d. over the {n} seeds (with so few seeds the s.d. is only a rough spread):", "",
              "| | mAP | rank-1 | rank-5 | rank-10 | mINP |", "|---|---:|---:|---:|---:|---:|"]
    for group, label in (("baseline", "baseline"), ("stra", "StRA"), ("stra_minus_baseline", "StRA − baseline (paired)")):
        lines.append(f"| {label} | " + " | ".join(f"{summary[group][k][0]:+.1f} ± {summary[group][k][1]:.1f}"
                                                  if group == "stra_minus_baseline" else
                                                  f"{summary[group][k][0]:.1f} ± {summary[group][k][1]:.1f}"
                                                  for k in METRICS) + " |")
    (results / "stra_vs_baseline.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
