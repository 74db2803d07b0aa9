"""StRA versus its baseline over several training seeds, through `keras-reid eval`.

    KERAS_BACKEND=tensorflow python benchmarks/stra_vs_baseline.py \
        --baseline runs/mobilenetv2_cuhk03_s0/preset runs/mobilenetv2_cuhk03_s1/preset \
        --stra runs/mobilenetv2_stra_cuhk03_s0/preset runs/mobilenetv2_stra_cuhk03_s1/preset

The run folders come from `SEED=S zoo/mobilenetv2_cuhk03/build.sh` and
`SEED=S zoo/mobilenetv2_stra_cuhk03/build.sh` (same recipe, same seeds; list the presets in
seed order so the paired differences pair the same seed). Each preset is evaluated on the
CUHK03-partial val protocol (cosine, no re-ranking); the table gives every seed, the mean and
sample standard deviation over seeds, and the per-seed StRA − baseline difference.
Writes benchmarks/results/NAME.{json,md} (`--name`, default stra_vs_baseline).

`--dg` adds the four domain-generalisation benchmarks (`keras-reid eval --dataset dg`, 10
seeded splits each): per seed the rank-1 of VIPeR, PRID, GRID and i-LIDS (mean over the
splits), their mean, and the mean mAP, with the same paired differences. The multi-source
comparison:

    KERAS_BACKEND=tensorflow python benchmarks/stra_vs_baseline.py --dg --name stra_vs_baseline_multisource \
        --baseline zoo/mobilenetv2_multisource/preset runs/mobilenetv2_multisource_s1/preset \
        --stra zoo/mobilenetv2_stra_multisource/preset runs/mobilenetv2_stra_multisource_s1/preset
"""

import argparse
import json
import pathlib
import statistics
import sys

from common import eval_preset, eval_preset_dg

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "cuhk03_labeled_partial"
METRICS = ("mAP", "rank1", "rank5", "rank10", "mINP")
DG_DATA = ROOT.parent / "shared" / "datasets" / "reid_extra"
DG_NAMES = ("viper", "prid", "grid", "ilids")
DG_METRICS = tuple(f"{b}_rank1" for b in DG_NAMES) + ("dg_mean_rank1", "dg_mean_mAP")


def evaluate(preset):
    """Metrics of one preset on CUHK03-partial val, in percent."""
    m = eval_preset(preset, "cuhk03_partial", DATA)
    return {k: m[k] for k in METRICS}


def evaluate_dg(preset):
    """Mean-over-splits rank-1 of each DG benchmark, their mean, and the mean mAP, in percent."""
    r = eval_preset_dg(preset, DG_DATA)
    out = {f"{b}_rank1": r[b]["mean"]["rank1"] for b in DG_NAMES}
    out["dg_mean_rank1"] = statistics.fmean(out[f"{b}_rank1"] for b in DG_NAMES)
    out["dg_mean_mAP"] = statistics.fmean(r[b]["mean"]["mAP"] for b in DG_NAMES)
    return out


def _seed(preset):
    meta = json.loads((pathlib.Path(preset) / "metadata.json").read_text())
    return meta.get("training", {}).get("seed")


def summarise(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, sd


def _summary_table(summary, keys, labels):
    lines = ["| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for group, label in (("baseline", "baseline"), ("stra", "StRA"), ("stra_minus_baseline", "StRA − baseline (paired)")):
        fmt = "{:+.1f} ± {:.1f}" if group == "stra_minus_baseline" else "{:.1f} ± {:.1f}"
        lines.append(f"| {label} | " + " | ".join(fmt.format(*summary[group][k]) for k in keys) + " |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", nargs="+", required=True, help="baseline presets, one per seed")
    parser.add_argument("--stra", nargs="+", required=True, help="StRA presets, same seeds in the same order")
    parser.add_argument("--dg", action="store_true", help="also the four DG benchmarks (10 splits each)")
    parser.add_argument("--name", default="stra_vs_baseline", help="results file name (benchmarks/results/NAME.md)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this benchmark needs the project's shared datasets.")
    if len(args.baseline) != len(args.stra):
        sys.exit("give one StRA preset per baseline preset (same seeds, same order)")
    rows = []
    for group, presets in (("baseline", args.baseline), ("stra", args.stra)):
        for preset in presets:
            row = {"model": group, "preset": preset, "seed": _seed(preset), **evaluate(preset)}
            if args.dg:
                row.update(evaluate_dg(preset))
            rows.append(row)
    for b, s in zip(rows[: len(args.baseline)], rows[len(args.baseline):]):
        if b["seed"] != s["seed"]:
            sys.exit(f"seed mismatch: {b['preset']} (seed {b['seed']}) vs {s['preset']} (seed {s['seed']})")

    keys = METRICS + (DG_METRICS if args.dg else ())
    summary = {}
    for group in ("baseline", "stra"):
        summary[group] = {k: summarise([r[k] for r in rows if r["model"] == group]) for k in keys}
    diffs = {k: [s[k] - b[k] for b, s in zip(rows[: len(args.baseline)], rows[len(args.baseline):])] for k in keys}
    summary["stra_minus_baseline"] = {k: summarise(v) for k, v in diffs.items()}

    results = ROOT / "benchmarks" / "results"
    (results / f"{args.name}.json").write_text(
        json.dumps({"rows": rows, "summary": summary, "differences": diffs}, indent=2) + "\n"
    )
    n = len(args.baseline)
    cmd = " ".join(["KERAS_BACKEND=tensorflow python benchmarks/stra_vs_baseline.py",
                    *(["--dg"] if args.dg else []), *(["--name", args.name] if args.name != "stra_vs_baseline" else []),
                    "--baseline", *args.baseline, "--stra", *args.stra])
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
    lines += ["", f"Mean ± sample s.d. over the {n} seeds (with so few seeds the s.d. is only a rough spread):", ""]
    lines += _summary_table(summary, METRICS, ("mAP", "rank-1", "rank-5", "rank-10", "mINP"))
    if args.dg:
        labels = ("VIPeR", "PRID", "GRID", "i-LIDS", "mean", "mean mAP")
        lines += ["", "Domain generalisation (never trained on): rank-1 per benchmark, mean of 10 seeded splits "
                  "(`keras-reid eval --dataset dg`), their mean, and the mean mAP.", "",
                  "| model | seed | " + " | ".join(labels) + " |", "|---|---:|" + "---:|" * len(labels)]
        for r in rows:
            lines.append(f"| {r['model']} | {r['seed']} | " + " | ".join(f"{r[k]:.1f}" for k in DG_METRICS) + " |")
        lines += [""] + _summary_table(summary, DG_METRICS, labels)
    (results / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
