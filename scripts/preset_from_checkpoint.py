"""Writes a preset from a training run's latest per-epoch checkpoint (an interim look at a run).

    KERAS_BACKEND=tensorflow python scripts/preset_from_checkpoint.py RUN_DIR OUT_DIR [--dataset NAME --root ROOT]

Rebuilds the run's model from the recipe stored in the checkpoint (`state.json`), restores every
variable, and saves a preset whose metadata says which epoch it holds; evaluate it with
`keras-reid eval OUT_DIR ...` or `benchmarks/dg_benchmarks.py`. The number of identities (the
classifier) comes from the dataset the run trained on (default: the multi-source set).
"""

import argparse
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("output")
    parser.add_argument("--dataset", default="multi_source")
    parser.add_argument("--root", default=str(ROOT.parent / "shared" / "datasets"))
    args = parser.parse_args()

    import keras_reid
    from keras_reid.data import get_dataset
    from keras_reid.presets import ReIDPreprocessor
    from keras_reid.training.recipes import Recipe
    from keras_reid.training.trainer import CHECKPOINT_DIR, latest_checkpoint, restore_model

    found = latest_checkpoint(os.path.join(args.run_dir, CHECKPOINT_DIR))
    if found is None:
        raise SystemExit(f"no checkpoint in {args.run_dir}/{CHECKPOINT_DIR}")
    folder, state = found
    recipe = Recipe.from_dict(state["recipe"])
    data = get_dataset(args.dataset, args.root)
    model = keras_reid.build(recipe.architecture, num_classes=data.num_train_pids,
                             image_shape=tuple(recipe.image_size) + (3,), **recipe.model_options)
    restore_model(folder, model)
    metadata = {
        "name": f"{recipe.name}_epoch{state['epoch']}",
        "training": {"recipe": recipe.to_dict(), "dataset": data.name, "epochs_run": state["epoch"],
                     "seed": state.get("seed"), "interim": f"checkpoint of epoch {state['epoch']} of {recipe.epochs}"},
        "metrics": state.get("last_metrics"),
    }
    keras_reid.save_preset(model, args.output, preprocessor=ReIDPreprocessor(recipe.image_size), metadata=metadata)
    print(f"{args.output}: {recipe.name}, epoch {state['epoch']} of {recipe.epochs}")


if __name__ == "__main__":
    main()
