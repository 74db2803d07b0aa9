"""Packages a `keras-reid train` run's preset into `zoo/NAME/preset/` with its card.

    KERAS_BACKEND=tensorflow python scripts/package_trained_preset.py RUN_DIR NAME

Loads `RUN_DIR/preset` (sha256-checked), re-saves it under `zoo/NAME/preset/` with the
training metadata of the run, `name`, licence and data fields, reference tensors computed
on the bundled synthetic sample images (so `python -m conversion verify` and the tests
can check the weights on load), and `zoo/NAME/README.md` as the model card. Weights are
stored in float16 only where that loses nothing (see `keras_reid.save_preset`).
"""

import json
import pathlib
import sys

import numpy as np
from PIL import Image

import keras_reid

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "keras_reid" / "assets" / "samples"


def trained_preset_metadata(meta, name, run_name):
    """The metadata a zoo preset keeps from its run's preset, plus name, source and licence."""
    keep = {k: meta[k] for k in ("training", "metrics") if k in meta}
    recipe = meta.get("training", {}).get("recipe", {})
    init = recipe.get("init_preset")
    origin = f"initialised from the {init} preset (see its licence)" if init else "trained from scratch (random initialisation)"
    dataset = meta.get("training", {}).get("dataset", "cuhk03_partial")
    if dataset == "multi_source":
        datasets = ["cuhk03", "3dpes", "caviar4reid", "sarc3d", "towncentre", "pku74"]
        data_note = ("Trained on CUHK03 (labeled + detected), 3DPeS, CAVIAR4REID, SARC3D, TownCentre and a 74-person "
                     "two-camera set (keras_reid.data.multi_source; all research use only)")
    else:
        datasets, data_note = ["cuhk03"], "Trained on CUHK03 (research use only)"
    keep.update(
        {
            "name": name,
            "architecture": recipe.get("architecture"),
            "source": f"trained by keras_reid on {dataset} (`keras-reid train --recipe {recipe.get('name')}`, "
            f"zoo/{name}/build.sh)",
            "license": "other",
            "license_note": f"{data_note}; {origin}.",
            "datasets": datasets,
            "provenance": f"Trained by this project with `keras-reid train` (run log: {run_name}/log.csv).",
        }
    )
    return keep


def main(run_dir, name):
    run_preset = pathlib.Path(run_dir) / "preset"
    model = keras_reid.load(str(run_preset))
    meta = dict(model.preset_metadata)
    pre = model.preprocessor
    images = np.stack(
        [np.asarray(Image.open(p).convert("RGB")) for p in sorted(SAMPLES.glob("*.jpg"))[:4]]
    )
    reference = pre(images)
    zoo = ROOT / "zoo" / name
    card_path = zoo / "README.md"
    card = card_path.read_text() if card_path.exists() else None
    keep = trained_preset_metadata(meta, name, pathlib.Path(run_dir).name)
    keras_reid.save_preset(
        model,
        str(zoo / "preset"),
        preprocessor=pre,
        metadata=keep,
        model_card=card,
        reference_inputs=reference,
        weights_dtype="float16",
    )
    log = pathlib.Path(run_dir) / "log.csv"
    if log.exists():
        (zoo / "training_log.csv").write_text(log.read_text())
    print(json.dumps({"preset": str(zoo / "preset"), "metrics": keep.get("metrics")}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:3])
