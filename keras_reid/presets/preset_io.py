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

A preset is untrusted input. Before any file is opened, every name `metadata.json`
lists must be a plain relative path resolving inside the preset (no absolute path,
`..`, backslash or link leading out), a regular file (no FIFO or device) and within
the size the format needs; JSON files are then checked field by field, and model
sizes are bounded before anything is built. Each failure is one `PresetError` line
naming the file and the field.
"""

import datetime
import hashlib
import json
import logging
import math
import numbers
import os
import re
import stat

import keras
import numpy as np

from keras_reid.presets.errors import PresetError, PresetFormatError, PresetIntegrityError, json_type
from keras_reid.presets.preprocessor import MAX_IMAGE_SIDE, ReIDPreprocessor
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
# Every file `save_preset` writes: a later save into the same folder removes those it no longer writes.
WRITTEN_FILES = (CONFIG_FILE, WEIGHTS_FILE, PREPROCESSOR_FILE, METADATA_FILE, README_FILE, REFERENCE_FILE)

# Bounds of what the format needs, checked before anything is read: JSON files are a few
# kB, the largest weights (ResNet-50 heads) a few hundred MB.
MAX_JSON_BYTES = 16 << 20
MAX_FILE_BYTES = 2 << 30
MAX_LISTED_FILES = 64
MAX_NUM_CLASSES = 1_000_000
MAX_CONFIG_INT = 1 << 16
MAX_WIDTH_MULTIPLIER = 4.0
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")


def sha256_file(path, chunk_size=1 << 20):
    # O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat then refuses it.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PresetIntegrityError(f"{path} is not a regular file: re-download or re-create it.")
        digest = hashlib.sha256()
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def size_limit(name):
    """The largest size a preset file may declare or have."""
    return MAX_JSON_BYTES if name.endswith(".json") else MAX_FILE_BYTES


def check_file_name(name, source):
    """Refuses a `files` entry of `source` (a metadata.json) that is not a plain relative path."""
    problem = None
    if not isinstance(name, str) or not name:
        problem = "is not a file name"
    elif "\\" in name:
        problem = "contains a backslash"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "contains control characters"
    elif name.startswith("/") or _DRIVE.match(name) or os.path.isabs(name):
        problem = "is an absolute path"
    elif ".." in name.split("/"):
        problem = "leaves the preset folder (..)"
    elif any(part in ("", ".") for part in name.split("/")):
        problem = "is not a plain relative path (empty or '.' component)"
    elif len(name) > 255:
        problem = "is longer than 255 characters"
    if problem:
        raise PresetFormatError(
            f"{source}: files entry {name!r} {problem}; a preset may only list files inside its own folder "
            "(e.g. model.weights.h5): do not load it, or re-save it with keras_reid.save_preset."
        )
    return name


def check_metadata(metadata, source):
    """Checks the JSON structure of a metadata.json and its `files` names and sizes; returns `metadata`.

    Nothing is opened: only the parsed JSON is looked at, so a hostile name (absolute,
    `..`, a device) is refused before any file is touched.
    """
    if not isinstance(metadata, dict):
        raise PresetFormatError(
            f"{source} must hold a JSON object, got {json_type(metadata)}: re-save the preset with "
            "keras_reid.save_preset or re-download it."
        )
    files = metadata.get("files", {})
    if not isinstance(files, dict):
        raise PresetFormatError(
            f"{source}: field 'files' must be an object {{name: {{sha256, size}}}}, got {json_type(files)}: "
            "re-save the preset with keras_reid.save_preset."
        )
    if len(files) > MAX_LISTED_FILES:
        raise PresetFormatError(f"{source}: field 'files' lists {len(files)} files, more than {MAX_LISTED_FILES}.")
    for name, info in files.items():
        check_file_name(name, source)
        field = f"files[{name!r}]"
        if not isinstance(info, dict):
            raise PresetFormatError(
                f"{source}: {field} must be an object {{sha256, size}}, got {json_type(info)}: "
                "re-save the preset with keras_reid.save_preset."
            )
        digest, size = info.get("sha256"), info.get("size")
        if not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            raise PresetFormatError(
                f"{source}: {field}.sha256 must be 64 hexadecimal characters, got {digest!r}: "
                "re-save the preset with keras_reid.save_preset."
            )
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise PresetFormatError(
                f"{source}: {field}.size must be a non-negative integer (bytes), got {size!r}: "
                "re-save the preset with keras_reid.save_preset."
            )
        if size > size_limit(name):
            raise PresetFormatError(
                f"{source}: {field}.size is {size} bytes, above the {size_limit(name)} bytes a preset file "
                "may take: the metadata is corrupt or hostile; do not load this preset."
            )
    return metadata


def preset_file(directory, name, root=None):
    """`directory/name` once checked: inside `root` after symlinks, and a regular file if it exists.

    `root` (default `preset_root(directory)`) is the folder every file must resolve
    inside. Returns `(path, size)`, size None for a missing file. Only `stat` is
    called: nothing is opened.
    """
    path = os.path.join(directory, *name.split("/"))
    root = os.path.realpath(root if root is not None else preset_root(directory))
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        raise PresetIntegrityError(
            f"{path} resolves to {real}, outside the preset folder {root} (a link leading out): a preset "
            "may only use its own files; do not load it, or re-create it with keras_reid.save_preset."
        )
    try:
        info = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        return path, None
    except OSError as e:
        raise PresetIntegrityError(
            f"{path} cannot be read ({e.strerror}): re-download or re-create the preset."
        ) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "device or special file"
        if stat.S_ISFIFO(info.st_mode):
            kind = "FIFO"
        elif stat.S_ISDIR(info.st_mode):
            kind = "directory"
        raise PresetIntegrityError(
            f"{path} is a {kind}, not a regular file: a preset holds regular files only; re-download or "
            "re-create the preset."
        )
    if info.st_size > size_limit(name):
        raise PresetIntegrityError(
            f"{path} is {info.st_size} bytes, above the {size_limit(name)} bytes a preset file may take: "
            "re-download or re-create the preset."
        )
    return path, info.st_size


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
        preprocessor: a `ReIDPreprocessor`; default: the model's own (its
            `ImagePreprocessing`, or the preset's it was loaded from), else its
            `image_shape` with ImageNet statistics. An end-to-end model is saved as its
            bare model plus this `preprocessor.json`, like every preset.
        reference_inputs: optional float32 batch, already preprocessed (the bare
            contract's input); its embedding (`model.network_embedding`) is stored in
            `reference_tensors.npz` so loads can be verified (timm style).
        metadata: extra metadata fields (training data, metrics, provenance, licence...).
        model_card: the README.md text; None writes a minimal card.
        weights_dtype: "float16" stores the weights in half precision where that loses
            nothing (the model computes in float32 after loading): arrays float16
            cannot represent stay float32, and with `reference_inputs` the whole file
            stays float32 if the embedding would change (see `metadata["weights_storage"]`).
            None keeps float32.

    Returns the path of the folder.
    """
    os.makedirs(directory, exist_ok=True)
    previous = _previously_saved(directory)
    preprocessor = preprocessor or _model_preprocessor(model)
    config = keras.saving.serialize_keras_object(model)
    for key in ("compile_config", "build_config"):
        config.pop(key, None)
    # An end-to-end model's preprocessing is the preset's preprocessor.json: config.json
    # holds the bare model, as in every preset.
    for key in ("preprocessing", "normalize_embedding"):
        config["config"].pop(key, None)
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
        embedding = keras.ops.convert_to_numpy(model.network_embedding(reference_inputs))
        np.savez(os.path.join(directory, REFERENCE_FILE), inputs=reference_inputs, embedding=embedding)
    card = model_card if model_card is not None else default_model_card(model, metadata or {}, directory)
    with open(os.path.join(directory, README_FILE), "w") as f:
        f.write(card)
    # A file an earlier save wrote and this one does not (reference tensors) would be
    # recorded and verified as this model's: remove it so the folder and metadata agree.
    written = {CONFIG_FILE, WEIGHTS_FILE, PREPROCESSOR_FILE, README_FILE, METADATA_FILE}
    if reference_inputs is not None:
        written.add(REFERENCE_FILE)
    for name in sorted((set(WRITTEN_FILES) | previous) - written):
        path = os.path.join(directory, name)
        if os.path.islink(path) or os.path.isfile(path):
            os.remove(path)
            logger.info("Removed %s, left in %s by an earlier save.", name, directory)

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


def _model_preprocessor(model):
    """The preprocessor an unspecified `save_preset` records: the model's own, else ImageNet's."""
    layer = getattr(model, "preprocessing", None)
    if layer is not None:
        return layer.to_preprocessor()
    return getattr(model, "preprocessor", None) or ReIDPreprocessor(model.image_shape[:2])


def _previously_saved(directory):
    """Top-level file names the `metadata.json` already in `directory` records (an earlier save)."""
    path = os.path.join(directory, METADATA_FILE)
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > MAX_JSON_BYTES:
            return set()
        with open(path) as f:
            files = json.load(f).get("files", {})
        names = set(files)
    except (OSError, ValueError, AttributeError, TypeError):
        return set()
    # Only plain names directly in the folder: nothing outside it is ever removed.
    return {n for n in names if isinstance(n, str) and n not in ("", ".", "..") and "/" not in n and "\\" not in n}


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
        exact = keras.ops.convert_to_numpy(model.network_embedding(x))
        rounded_model = _build_from_config(config)
        _load_weights_strict(rounded_model, weights_path)
        rounded = keras.ops.convert_to_numpy(rounded_model.network_embedding(x))
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


def default_model_card(model, metadata, directory=None):
    """A minimal card. Its load example uses `metadata["handle"]` when given, else the preset's
    folder: a preset's name is not a handle `keras_reid.load` resolves unless it is in the zoo."""
    name = metadata.get("name", model.name)
    handle = metadata.get("handle") or (os.path.abspath(directory) if directory else name)
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
        handle=handle,
    )


def preset_root(directory):
    """The folder every file of the preset in `directory` must resolve inside.

    The preset folder itself, except for a Hugging Face cache snapshot
    (`models--ORG--REPO/snapshots/REVISION/`), whose files are links to the
    repository's `blobs/`: there, the repository folder.
    """
    directory = os.path.realpath(directory)
    parent = os.path.dirname(directory)
    if os.path.basename(parent) == "snapshots" and os.path.basename(os.path.dirname(parent)).startswith("models--"):
        return os.path.dirname(parent)
    return directory


def read_metadata(directory, root=None):
    """Reads `metadata.json` and checks its structure, file names and sizes; opens no other file."""
    path, size = preset_file(directory, METADATA_FILE, root if root is not None else preset_root(directory))
    if size is None:
        raise PresetIntegrityError(
            f"{directory} is not a keras_reid preset: {METADATA_FILE} is missing. "
            "Save presets with keras_reid.save_preset(...) or re-download the folder."
        )
    try:
        with open(path, "rb") as f:
            metadata = json.loads(f.read().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PresetIntegrityError(f"{path} is corrupt ({getattr(e, 'msg', e)}): re-download the preset.") from None
    return check_metadata(metadata, path)


def check_preset_files(directory, metadata=None, root=None):
    """Checks which files a preset may read, before any of them is opened.

    Every required and every recorded file must be a regular file resolving inside the
    preset (see `preset_file`); the required ones must exist. Returns `(metadata,
    {name: (path, size)})`.
    """
    root = root if root is not None else preset_root(directory)
    if metadata is None:
        metadata = read_metadata(directory, root)
    else:
        check_metadata(metadata, os.path.join(directory, METADATA_FILE))
    recorded = metadata.get("files", {})
    found = {name: preset_file(directory, name, root) for name in (*REQUIRED_FILES, *recorded)}
    for name in REQUIRED_FILES:
        if found[name][1] is None:
            raise PresetIntegrityError(
                f"Preset {directory} is incomplete: {name} is missing. Re-download or re-create the preset."
            )
    return metadata, found


def verify_preset_files(directory, metadata=None, root=None):
    """Checks that every required file exists and matches the sha256 in `metadata.json`.

    Names are confined first (`check_preset_files`): an absolute path, `..`, a link out
    of the folder, a FIFO or a device raises before any file is opened or hashed.
    """
    metadata, found = check_preset_files(directory, metadata, root)
    recorded = metadata.get("files", {})
    for name in REQUIRED_FILES[:-1]:
        if name not in recorded:
            raise PresetIntegrityError(
                f"Preset {directory}: {METADATA_FILE} records no sha256 for {name}; "
                "re-save the preset with keras_reid.save_preset."
            )
    for name, info in recorded.items():
        path, size = found[name]
        if size is None:
            raise PresetIntegrityError(f"Preset {directory} is incomplete: {name} is missing.")
        if size != info["size"]:
            raise PresetIntegrityError(
                f"{path} is {size} bytes but its metadata says {info['size']} (truncated download?): "
                "delete it and download the preset again (force_download=True)."
            )
        if sha256_file(path) != info["sha256"].lower():
            raise PresetIntegrityError(
                f"{path} does not match the sha256 in {METADATA_FILE} (altered or corrupt file): "
                "delete it and download the preset again (force_download=True)."
            )
    return metadata


def check_num_classes(num_classes, source="num_classes"):
    """Refuses a `num_classes` that is not None or an integer from 1 to `MAX_NUM_CLASSES`."""
    if num_classes is None:
        return None
    if not isinstance(num_classes, numbers.Integral) or isinstance(num_classes, bool):
        raise ValueError(f"{source} must be a positive integer or None, got {num_classes!r}.")
    if num_classes < 1:
        raise ValueError(
            f"{source} must be positive, got {num_classes}: pass the number of identities, "
            "or None to keep the preset's classifier (or to build without one)."
        )
    if num_classes > MAX_NUM_CLASSES:
        raise ValueError(f"{source} = {num_classes} is out of range (at most {MAX_NUM_CLASSES} identities).")
    return int(num_classes)


def _check_numbers(value, field, path):
    """Every number of a model config is finite and at most `MAX_CONFIG_INT` in magnitude."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, f"{field}.{key}", path)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_numbers(item, f"{field}[{i}]", path)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not math.isfinite(value) or abs(value) > MAX_CONFIG_INT:
            raise PresetFormatError(
                f"{path}: {field} = {value!r} is out of range (numbers of a model config are finite and at most "
                f"{MAX_CONFIG_INT}): the file is corrupt or hostile; re-save the preset with keras_reid.save_preset."
            )


def check_model_config(config, path):
    """Checks a serialised model (`config.json`) before anything is built: structure and sizes.

    A size that would not fit in memory (`num_classes` = 1e9, a 60000×30000 input) is
    refused here with the field's name instead of failing while allocating.
    """
    fix = "re-save the preset with keras_reid.save_preset"
    if not isinstance(config, dict):
        raise PresetFormatError(
            f"{path} must hold a JSON object (a serialised keras_reid model), got {json_type(config)}: {fix}."
        )
    if not isinstance(config.get("class_name"), str):
        raise PresetFormatError(f"{path}: field 'class_name' must be a string, got {config.get('class_name')!r}: {fix}.")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise PresetFormatError(
            f"{path}: field 'config' must be an object of constructor arguments, got {json_type(inner)}: {fix}."
        )
    classes = inner.get("num_classes")
    if classes is not None and not (
        isinstance(classes, int) and not isinstance(classes, bool) and 1 <= classes <= MAX_NUM_CLASSES
    ):
        problem = "must be positive" if isinstance(classes, (int, float)) and classes < 1 else "is out of range"
        raise PresetFormatError(
            f"{path}: config.num_classes {problem} (an integer from 1 to {MAX_NUM_CLASSES}, or null for no "
            f"classifier), got {classes!r}: {fix}."
        )
    shape = inner.get("image_shape")
    if shape is not None:
        valid = (
            isinstance(shape, list)
            and len(shape) == 3
            and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
        )
        if not valid or not (1 <= shape[0] <= MAX_IMAGE_SIDE and 1 <= shape[1] <= MAX_IMAGE_SIDE and 1 <= shape[2] <= 4):
            raise PresetFormatError(
                f"{path}: config.image_shape = {shape!r} is out of range ([height, width, channels] with height and "
                f"width from 1 to {MAX_IMAGE_SIDE}, channels from 1 to 4): {fix}."
            )
    width = inner.get("width")
    if width is not None and not (
        isinstance(width, numbers.Real) and not isinstance(width, bool) and 0 < width <= MAX_WIDTH_MULTIPLIER
    ):
        raise PresetFormatError(
            f"{path}: config.width = {width!r} is out of range (a width multiplier above 0, at most "
            f"{MAX_WIDTH_MULTIPLIER:g}): {fix}."
        )
    _check_numbers({k: v for k, v in inner.items() if k != "num_classes"}, "config", path)
    return config


def _read_config(directory, path=None):
    path = path or os.path.join(directory, CONFIG_FILE)
    try:
        with open(path, "rb") as f:
            config = json.loads(f.read().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PresetIntegrityError(f"{path} is corrupt ({getattr(e, 'msg', e)}): re-download the preset.") from None
    return check_model_config(config, path)


def _build_from_config(config, num_classes=None, source=CONFIG_FILE):
    config = json.loads(json.dumps(config))
    if num_classes is not None:
        config["config"]["num_classes"] = num_classes
    import keras_reid

    keras_reid.register_all()  # every keras_reid class, for deserialisation

    try:
        return keras.saving.deserialize_keras_object(config)
    except ValueError as e:
        # The architecture refused a value (checked constructor argument): the file, not
        # keras_reid's version, is at fault.
        raise PresetFormatError(
            f"{source}: the architecture refuses this configuration ({str(e).splitlines()[0][:300]}): "
            "fix the file or re-save the preset with keras_reid.save_preset."
        ) from None
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
    from keras_reid.utils import weights

    try:
        _, skipped = weights.transfer_weights(source, target, skip_prefix=skip_prefix, strict=True)
    except ValueError as e:
        raise PresetError(str(e).replace("the source model", "the preset's model")) from None
    return skipped


def load_preset_dir(directory, num_classes=None, load_weights=True, verify=True, root=None, include_preprocessing=True):
    """Loads a preset folder; see `keras_reid.load` for the arguments.

    `root` is the folder every file must resolve inside (default: `preset_root(directory)`).
    """
    num_classes = check_num_classes(num_classes)
    if verify:
        metadata = verify_preset_files(directory, root=root)
    else:
        metadata, _ = check_preset_files(directory, root=root)
    config_path = os.path.join(directory, CONFIG_FILE)
    config = _read_config(directory, config_path)
    # Both small files are checked before the (slow) build.
    preprocessor = ReIDPreprocessor.load(os.path.join(directory, PREPROCESSOR_FILE))
    saved_classes = config["config"].get("num_classes")
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    replace_head = num_classes is not None and num_classes != saved_classes
    if not load_weights:
        model = _build_from_config(config, num_classes if replace_head else None, source=config_path)
    elif not replace_head:
        model = _build_from_config(config, source=config_path)
        _load_weights_strict(model, weights_path)
    else:
        source = _build_from_config(config, source=config_path)
        _load_weights_strict(source, weights_path)
        model = _build_from_config(config, num_classes, source=config_path)
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
    model.preprocessor = preprocessor
    if include_preprocessing:
        try:
            model.set_preprocessing(preprocessor)
        except ValueError as e:
            raise PresetFormatError(
                f"{os.path.join(directory, PREPROCESSOR_FILE)}: {e}; load it with include_preprocessing=False "
                "and preprocess with keras_reid.ReIDPreprocessor."
            ) from None
    model.preset_metadata = metadata
    model.preset_folder = str(directory)
    return model


def load_reference_tensors(directory):
    """The stored reference `{"inputs", "embedding"}` of a preset, or None when it has none."""
    path, size = preset_file(directory, REFERENCE_FILE, preset_root(directory))
    if size is None:
        return None
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
