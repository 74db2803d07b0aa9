"""Reading and writing preset folders (KerasHub layout).

A preset folder holds:

| file | contents |
|---|---|
| `config.json` | the serialised model (`keras.saving.serialize_keras_object`) |
| `model.weights.h5` | the weights of `model.network` (no optimizer state, even for a compiled model) |
| `preprocessor.json` | `ReIDPreprocessor` config (size, mean/std, interpolation) |
| `metadata.json` | versions, parameter count, sha256 and size of every file, data, metrics, provenance, licence |
| `README.md` | the model card (Hugging Face YAML front matter) |
| `reference_tensors.npz` | optional: a reference input and its embedding, checked on load by tests |
"""

import datetime
import hashlib
import json
import logging
import os

import keras
import numpy as np

from keras_reid.presets.errors import PresetError, PresetIntegrityError
from keras_reid.presets.preprocessor import ReIDPreprocessor
from keras_reid.version import __version__

logger = logging.getLogger("keras_reid")

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
PREPROCESSOR_FILE = "preprocessor.json"
METADATA_FILE = "metadata.json"
README_FILE = "README.md"
REFERENCE_FILE = "reference_tensors.npz"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, PREPROCESSOR_FILE, METADATA_FILE)
CHECKED_FILES = (CONFIG_FILE, WEIGHTS_FILE, PREPROCESSOR_FILE, REFERENCE_FILE)


def sha256_file(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _json_dump(obj, path):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def save_preset(
    model,
    directory,
    preprocessor=None,
    metadata=None,
    model_card=None,
    reference_inputs=None,
    weights_dtype=None,
):
    """Writes `model` as a preset folder.

    Args:
        model: a `keras_reid.ReIDModel`.
        directory: output folder (created; existing preset files are overwritten).
        preprocessor: a `ReIDPreprocessor`; default: the model's `image_shape` with
            ImageNet statistics.
        metadata: extra metadata fields (training data, metrics, provenance, licence...).
        model_card: the README.md text; None writes a minimal card.
        reference_inputs: optional float32 batch; its embedding is stored in
            `reference_tensors.npz` so loads can be verified (timm style).
        weights_dtype: "float16" stores the weights in half precision where that loses
            nothing (the model computes in float32 after loading): arrays float16
            cannot represent stay float32, and with `reference_inputs` the whole file
            stays float32 if the embedding would change (see `metadata["weights_storage"]`).
            None keeps float32.

    Returns the path of the folder.
    """
    os.makedirs(directory, exist_ok=True)
    preprocessor = preprocessor or ReIDPreprocessor(model.image_shape[:2])
    config = keras.saving.serialize_keras_object(model)
    for key in ("compile_config", "build_config"):
        config.pop(key, None)
    _json_dump(config, os.path.join(directory, CONFIG_FILE))
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    # The functional network holds every weight; saving it (not the compiled ReIDModel)
    # keeps optimizer state out of the preset.
    model.network.save_weights(weights_path)
    storage = {}
    if weights_dtype not in (None, "float32"):
        storage = _store_reduced_precision(model, config, weights_path, weights_dtype, reference_inputs)
        if storage["weights_dtype"] == "float32":
            weights_dtype = None
    preprocessor.save(os.path.join(directory, PREPROCESSOR_FILE))
    if reference_inputs is not None:
        reference_inputs = np.asarray(reference_inputs, "float32")
        if weights_dtype not in (None, "float32"):
            # The reference must describe the stored (rounded) weights.
            model = _build_from_config(config)
            _load_weights_strict(model, weights_path)
        embedding = keras.ops.convert_to_numpy(model(reference_inputs, training=False))
        np.savez(os.path.join(directory, REFERENCE_FILE), inputs=reference_inputs, embedding=embedding)
    card = model_card if model_card is not None else default_model_card(model, metadata or {})
    with open(os.path.join(directory, README_FILE), "w") as f:
        f.write(card)

    files = {}
    for name in CHECKED_FILES:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            files[name] = {"sha256": sha256_file(path), "size": os.path.getsize(path)}
    meta = {
        "keras_reid_version": __version__,
        "keras_version": keras.__version__,
        "date_saved": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "class_name": model.__class__.__name__,
        "parameter_count": int(model.count_params()),
        "num_classes": model.num_classes,
        "embedding_dim": model.embedding_dim,
        "image_size": list(preprocessor.image_size),
        "weights_dtype": weights_dtype or "float32",
        "files": files,
    }
    if storage:
        meta["weights_storage"] = storage
    meta.update(metadata or {})
    _json_dump(meta, os.path.join(directory, METADATA_FILE))
    return directory


def _store_reduced_precision(model, config, weights_path, dtype, reference_inputs, rtol=1e-3):
    """Casts the weights file to `dtype` only where that loses nothing; else keeps float32.

    Per-array rounding can still compound through a network (BatchNorm with tiny
    variances amplifies rounded means), so with `reference_inputs` the embeddings of
    the rounded and the float32 weights are compared; above `rtol` × max |embedding| the
    float32 file is kept and a warning says so. Returns what was stored, for metadata.
    """
    import shutil

    backup = f"{weights_path}.float32"
    shutil.copyfile(weights_path, backup)
    kept = _cast_weights_file(weights_path, dtype)
    info = {"weights_dtype": dtype, "arrays_kept_float32": len(kept)}
    if reference_inputs is not None:
        x = np.asarray(reference_inputs, "float32")
        exact = keras.ops.convert_to_numpy(model(x, training=False))
        rounded_model = _build_from_config(config)
        _load_weights_strict(rounded_model, weights_path)
        rounded = keras.ops.convert_to_numpy(rounded_model(x, training=False))
        diff = float(np.abs(rounded - exact).max())
        info["max_abs_embedding_change"] = diff
        if diff > rtol * max(float(np.abs(exact).max()), 1e-12):
            logger.warning(
                "Storing the weights in %s changes the reference embedding by up to %.3g "
                "(max |embedding| %.3g): keeping float32 weights.",
                dtype,
                diff,
                float(np.abs(exact).max()),
            )
            os.replace(backup, weights_path)
            return {"weights_dtype": "float32", "reduced_precision_rejected": dtype, "max_abs_embedding_change": diff}
    os.remove(backup)
    return info


def _cast_weights_file(path, dtype, rtol=1e-3):
    """Rewrites the float32 arrays of a `.weights.h5` file in `dtype` where that loses nothing.

    An array is stored in `dtype` (float16 halves its size) only if every element survives
    the round trip within `rtol` relative error; others stay float32 — typically BatchNorm
    variances below float16's normal range (6e-5), which would otherwise be flushed
    towards zero and shift features by several percent. Keras casts the arrays back to
    each variable's dtype on load. Returns the names of the arrays kept in float32.
    """
    import h5py

    kept = []
    with h5py.File(path, "r+") as f:
        datasets = []
        f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in datasets:
            data = f[name][()]
            if not (isinstance(data, np.ndarray) and data.dtype == np.float32):
                continue
            with np.errstate(over="ignore"):
                cast = data.astype(dtype)
            if not np.all(np.abs(cast.astype(np.float32) - data) <= rtol * np.abs(data)):
                kept.append(name)
                continue
            del f[name]
            f.create_dataset(name, data=cast)
    # h5py does not reclaim freed space in place: copy to a compact file.
    tmp = f"{path}.tmp"
    with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
        for key in src.attrs:
            dst.attrs[key] = src.attrs[key]
        for key in src:
            src.copy(src[key], dst, name=key)
    os.replace(tmp, path)
    return kept


def default_model_card(model, metadata):
    name = metadata.get("name", model.name)
    return (
        "---\nlibrary_name: keras-reid\nlicense: {lic}\ntags:\n- person-reid\n- keras\n---\n\n"
        "# {name}\n\n`{cls}` ({params:,} parameters, {dim}-D embedding).\n\n"
        "```python\nimport keras_reid\nmodel = keras_reid.load(\"{handle}\")\n```\n"
    ).format(
        lic=metadata.get("license", "other"),
        name=name,
        cls=model.__class__.__name__,
        params=int(model.count_params()),
        dim=model.embedding_dim,
        handle=metadata.get("handle", name),
    )


def read_metadata(directory):
    path = os.path.join(directory, METADATA_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise PresetIntegrityError(
            f"{directory} is not a keras_reid preset: {METADATA_FILE} is missing. "
            "Save presets with keras_reid.save_preset(...) or re-download the folder."
        ) from None
    except json.JSONDecodeError as e:
        raise PresetIntegrityError(f"{path} is corrupt ({e.msg}): re-download the preset.") from None


def verify_preset_files(directory, metadata=None):
    """Checks that every required file exists and matches the sha256 in `metadata.json`."""
    metadata = metadata or read_metadata(directory)
    recorded = metadata.get("files", {})
    for name in REQUIRED_FILES:
        if not os.path.exists(os.path.join(directory, name)):
            raise PresetIntegrityError(
                f"Preset {directory} is incomplete: {name} is missing. Re-download or re-create the preset."
            )
    for name in REQUIRED_FILES[:-1]:
        if name not in recorded:
            raise PresetIntegrityError(
                f"Preset {directory}: {METADATA_FILE} records no sha256 for {name}; "
                "re-save the preset with keras_reid.save_preset."
            )
    for name, info in recorded.items():
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            raise PresetIntegrityError(f"Preset {directory} is incomplete: {name} is missing.")
        size = os.path.getsize(path)
        if "size" in info and size != info["size"]:
            raise PresetIntegrityError(
                f"{path} is {size} bytes but its metadata says {info['size']} (truncated download?): "
                "delete it and download the preset again (force_download=True)."
            )
        if sha256_file(path) != info["sha256"]:
            raise PresetIntegrityError(
                f"{path} does not match the sha256 in {METADATA_FILE} (altered or corrupt file): "
                "delete it and download the preset again (force_download=True)."
            )
    return metadata


def _read_config(directory):
    path = os.path.join(directory, CONFIG_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise PresetIntegrityError(f"{path} is corrupt ({e.msg}): re-download the preset.") from None


def _build_from_config(config, num_classes=None):
    config = json.loads(json.dumps(config))
    if num_classes is not None:
        config["config"]["num_classes"] = num_classes
    # Importing the package registers every keras_reid class for deserialisation.
    import keras_reid  # noqa: F401

    try:
        return keras.saving.deserialize_keras_object(config)
    except Exception as e:
        raise PresetError(
            f"Cannot rebuild the model from its config ({type(e).__name__}: {e}); "
            "the preset may need a newer keras_reid (pip install -U keras-reid)."
        ) from None


def _load_weights_strict(model, path):
    try:
        model.network.load_weights(path)
    except Exception as e:
        raise PresetIntegrityError(
            f"Cannot load weights from {path} ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
            "the file is corrupt or belongs to another architecture: re-download or re-convert the preset."
        ) from None


def transfer_weights(source, target, skip_prefix="classifier"):
    """Copies weights layer by layer (by name) from `source` to `target`, except classifiers.

    Returns the names of the skipped layers. Raises if any other layer is missing or
    mismatched, so nothing is dropped silently.
    """
    source_layers = {layer.name: layer for layer in source.network.layers}
    skipped = []
    for layer in target.network.layers:
        if layer.name.startswith(skip_prefix):
            skipped.append(layer.name)
            continue
        if not layer.weights:
            continue
        if layer.name not in source_layers:
            raise PresetError(f"Layer {layer.name!r} has no counterpart in the preset's model.")
        layer.set_weights(source_layers[layer.name].get_weights())
    return skipped


def load_preset_dir(directory, num_classes=None, load_weights=True, verify=True):
    """Loads a preset folder; see `keras_reid.load` for the arguments."""
    metadata = verify_preset_files(directory) if verify else read_metadata(directory)
    config = _read_config(directory)
    saved_classes = config.get("config", {}).get("num_classes")
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    replace_head = num_classes is not None and num_classes != saved_classes
    if not load_weights:
        model = _build_from_config(config, num_classes if replace_head else None)
    elif not replace_head:
        model = _build_from_config(config)
        _load_weights_strict(model, weights_path)
    else:
        source = _build_from_config(config)
        _load_weights_strict(source, weights_path)
        model = _build_from_config(config, num_classes)
        skipped = transfer_weights(source, model)
        if skipped:
            logger.warning(
                "Loaded every weight of %s except the classifier layer(s) %s, new for "
                "num_classes=%s (%s); this is expected for fine-tuning.",
                metadata.get("name", os.path.basename(os.path.normpath(directory))),
                ", ".join(skipped),
                num_classes,
                "the preset has no classifier" if saved_classes is None else f"the preset's has {saved_classes} classes",
            )
        del source
    model.preprocessor = ReIDPreprocessor.load(os.path.join(directory, PREPROCESSOR_FILE))
    model.preset_metadata = metadata
    model.preset_folder = str(directory)
    return model


def load_reference_tensors(directory):
    path = os.path.join(directory, REFERENCE_FILE)
    if not os.path.exists(path):
        return None
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
