"""Per-epoch training checkpoints: every model and optimizer variable, keyed by path, plus `state.json`.

`<output>/checkpoints/ckpt-NNNN/` is written to a temporary folder and renamed, then
`latest.json` is replaced atomically, so a run killed at any moment resumes from the last
complete epoch; older checkpoints are removed once the new one is in place.
"""

import json
import os
import shutil

import keras
import numpy as np

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"


def _keyed(variables):
    keys = [v.path for v in variables]
    if len(set(keys)) != len(keys):
        keys = [f"{i:05d}:{k}" for i, k in enumerate(keys)]
    return keys


def save_checkpoint(directory, model, optimizer, state):
    """Writes `ckpt-NNNN/` and then points `latest.json` to it (atomic replace)."""
    epoch = state["epoch"]
    os.makedirs(directory, exist_ok=True)
    folder = os.path.join(directory, f"ckpt-{epoch:04d}")
    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    np.savez(os.path.join(tmp, "model.npz"), **{k: keras.ops.convert_to_numpy(v) for k, v in zip(_keyed(model.variables), model.variables)})
    np.savez(
        os.path.join(tmp, "optimizer.npz"),
        **{f"{i:05d}:{v.path}": keras.ops.convert_to_numpy(v) for i, v in enumerate(optimizer.variables)},
    )
    with open(os.path.join(tmp, "state.json"), "w") as f:
        json.dump(state, f, indent=2)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    pointer = os.path.join(directory, LATEST)
    with open(pointer + ".tmp", "w") as f:
        json.dump({"checkpoint": os.path.basename(folder), "epoch": epoch}, f)
    os.replace(pointer + ".tmp", pointer)
    for name in os.listdir(directory):
        if name.startswith("ckpt-") and name != os.path.basename(folder):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    return folder


def latest_checkpoint(directory):
    pointer = os.path.join(directory, LATEST)
    if not os.path.exists(pointer):
        return None
    with open(pointer) as f:
        folder = os.path.join(directory, json.load(f)["checkpoint"])
    with open(os.path.join(folder, "state.json")) as f:
        state = json.load(f)
    return folder, state


def restore_model(folder, model):
    with np.load(os.path.join(folder, "model.npz")) as data:
        keys = _keyed(model.variables)
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise ValueError(f"Checkpoint {folder} does not match the model (missing {missing[:3]}).")
        for key, var in zip(keys, model.variables):
            var.assign(data[key])


def restore_optimizer(folder, optimizer):
    with np.load(os.path.join(folder, "optimizer.npz")) as data:
        files = sorted(data.files)
        if len(files) != len(optimizer.variables):
            raise ValueError(f"Checkpoint {folder}: {len(files)} optimizer variables, the optimizer has {len(optimizer.variables)}.")
        for key, var in zip(files, optimizer.variables):
            var.assign(data[key])
