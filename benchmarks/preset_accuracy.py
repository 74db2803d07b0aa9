"""Accuracy of presets on the real data in ../shared/datasets, through `keras-reid eval`.

    KERAS_BACKEND=tensorflow python benchmarks/preset_accuracy.py PRESET [PRESET ...]

Each preset (a built-in name or a folder) is evaluated with the project's CLI on
  - CUHK03-partial val (the keras_reid protocol: query = camera A, gallery = camera B), and
  - the Market-1501 mini set (96 real images; far too small to rank models, a smoke test),
with cosine distance and no re-ranking. `random:ARCH` evaluates a randomly initialised
architecture (seed 0) saved to a temporary preset, as the untrained reference.
Writes benchmarks/results/preset_accuracy.{json,md}.
"""

import json
import os
import pathlib
import sys
import tempfile

from common import eval_preset

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
DATASETS = [("cuhk03_partial", DATA / "cuhk03_labeled_partial"), ("market1501", DATA / "market1501_mini")]


def _resolve(handle, tmp):
    if not handle.startswith("random:"):
        return handle
    import keras

    import keras_reid

    keras.utils.set_random_seed(0)
    arch = handle.split(":", 1)[1]
    path = os.path.join(tmp, arch.replace("/", "_"))
    keras_reid.save_preset(keras_reid.build(arch), path, metadata={"name": handle})
    return path


def main(handles):
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this benchmark needs the project's shared datasets.")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for handle in handles:
            preset = _resolve(handle, tmp)
            for name, root in DATASETS:
                rows.append({"preset": handle, "dataset": name, **eval_preset(preset, name, root)})
    results = ROOT / "benchmarks" / "results"
    (results / "preset_accuracy.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Preset accuracy on the real data (measured by this project)",
        "",
        f"Command: `KERAS_BACKEND=tensorflow python benchmarks/preset_accuracy.py {' '.join(handles)}`",
        "(each row is `keras-reid eval PRESET --dataset NAME --root ...`, cosine distance, no re-ranking,",
        "no flip). CUHK03-partial val = the keras_reid protocol of `shared/datasets/README.md`;",
        "Market mini = 32 query / 32 gallery real images, a smoke test, not a benchmark.",
        "",
        "| preset | dataset | queries | gallery | mAP | rank-1 | rank-5 | rank-10 | mINP |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['dataset']} | {r['queries']} | {r['gallery']} | {r['mAP']:.1f} | "
            f"{r['rank1']:.1f} | {r['rank5']:.1f} | {r['rank10']:.1f} | {r['mINP']:.1f} |"
        )
    (results / "preset_accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:] or ["random:mobilenetv2", "mobilenetv2_imagenet"])
