"""Domain generalisation of presets: VIPeR, PRID, GRID, i-LIDS (never trained on) and in-domain.

    KERAS_BACKEND=tensorflow python benchmarks/dg_benchmarks.py PRESET [PRESET ...]

For every preset (a built-in name or a folder), through the project's CLI:
  - `keras-reid eval PRESET --dataset dg --root ../shared/datasets/reid_extra`: the four DG
    benchmarks, single-shot, 10 seeded random splits each, mean ± std (population) of
    rank-1/5/10 and mAP, cosine distance (protocols in `keras_reid/data/dg_benchmarks.py`);
  - `keras-reid eval PRESET --dataset cuhk03_partial`: the in-domain CUHK03-partial val mAP.
Writes benchmarks/results/dg_benchmarks.{json,md}; rows of presets already in the JSON and not
named on the command line are kept, so presets can be added one run at a time.
"""

import json
import pathlib
import sys

from common import cpu_model, eval_preset, eval_preset_dg

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results"
ORDER = ("viper", "prid", "grid", "ilids")


def markdown(rows):
    from keras_reid.data.dg_benchmarks import PUBLISHED_RANK1

    lines = [
        "# Domain generalisation: presets on cameras they never saw (measured by this project)",
        "",
        "Command: `KERAS_BACKEND=tensorflow python benchmarks/dg_benchmarks.py PRESET ...` — each preset",
        "through `keras-reid eval PRESET --dataset dg --root ../shared/datasets/reid_extra` (10 seeded",
        "random splits per benchmark, single-shot, cosine distance, no re-ranking, no flip) and",
        "`keras-reid eval PRESET --dataset cuhk03_partial` (in-domain val). No preset is trained on",
        "VIPeR, PRID, GRID or i-LIDS. Cells are mean ± std over the splits.",
        "",
        "## Rank-1 (%)",
        "",
        "| preset | VIPeR | PRID | GRID | i-LIDS | mean of 4 | CUHK03-partial val mAP |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        dg = row["dg"]
        cells = " | ".join(f"{dg[b]['mean']['rank1']:.1f} ± {dg[b]['std']['rank1']:.1f}" for b in ORDER)
        avg = sum(dg[b]["mean"]["rank1"] for b in ORDER) / len(ORDER)
        lines.append(f"| {row['preset']} | {cells} | {avg:.1f} | {row['in_domain']['mAP']:.1f} |")
    for label, values in PUBLISHED_RANK1.items():
        cells = " | ".join(f"{values[b]:.1f}" for b in ORDER)
        avg = sum(values[b] for b in ORDER) / len(ORDER)
        lines.append(f"| *{label}: MobileNetV2 on five large datasets, the paper's numbers* | {cells} | {avg:.1f} | — |")
    lines += ["", "## mAP and rank-5/10 (%)", "", "| preset | benchmark | rank-5 | rank-10 | mAP |", "|---|---|---:|---:|---:|"]
    for row in rows:
        for b in ORDER:
            r = row["dg"][b]
            lines.append(
                f"| {row['preset']} | {b} | {r['mean']['rank5']:.1f} ± {r['std']['rank5']:.1f} | "
                f"{r['mean']['rank10']:.1f} ± {r['std']['rank10']:.1f} | {r['mean']['mAP']:.1f} ± {r['std']['mAP']:.1f} |"
            )
    machine = sorted({row["machine"] for row in rows})
    lines += ["", f"Machine: {', '.join(machine)}.", ""]
    return "\n".join(lines)


def main(handles):
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this benchmark needs the project's shared datasets.")
    path = RESULTS / "dg_benchmarks.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    rows = [r for r in rows if r["preset"] not in handles]
    for handle in handles:
        rows.append(
            {
                "preset": handle,
                "dg": eval_preset_dg(handle, DATA / "reid_extra"),
                "in_domain": eval_preset(handle, "cuhk03_partial", DATA / "cuhk03_labeled_partial"),
                "machine": cpu_model(),
            }
        )
    path.write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "dg_benchmarks.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
