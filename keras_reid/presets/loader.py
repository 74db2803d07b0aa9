import difflib
import os
import zipfile

import keras

from keras_reid.presets import hub, registry
from keras_reid.presets.errors import PresetFormatError, PresetNotFoundError, PresetUnavailableError
from keras_reid.presets.preset_io import check_num_classes, load_preset_dir, transfer_weights

VALID_FORMS = (
    "a built-in preset name (keras_reid.list_presets()), hf://ORG/REPO[@REVISION], "
    "a local preset folder, or a .keras file"
)


def resolve_handle(handle):
    """Resolves a handle to `(kind, value)`: ("dir", path), ("keras", path) or ("hf", handle)."""
    handle = os.fspath(handle)
    if handle.startswith("hf://"):
        return "hf", handle
    if handle.endswith(".keras"):
        if not os.path.isfile(handle):
            raise PresetNotFoundError(f"No such .keras file: {handle}.")
        return "keras", handle
    if os.path.isdir(handle):
        return "dir", handle
    presets = registry.builtin_presets()
    if handle in presets:
        entry = presets[handle]
        status = entry.get("status")
        if status == "embedded":
            path = registry.embedded_preset_dir(handle)
            if path is not None:
                return "dir", str(path)
        if status == "unavailable":
            raise PresetUnavailableError(
                f"Preset {handle!r} has no published weights: {entry.get('instructions', 'see zoo/' + handle)}"
            )
        repo = entry.get("hub_repo") or f"{registry.hub_org()}/{handle}"
        return "hf", f"hf://{repo}"
    if os.path.sep in handle or handle.startswith("."):
        raise PresetNotFoundError(f"No such preset folder: {handle}. Valid handles: {VALID_FORMS}.")
    close = difflib.get_close_matches(handle, presets, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise PresetNotFoundError(
        f"Unknown preset {handle!r}.{hint} Valid handles: {VALID_FORMS}. "
        f"Built-in presets: {', '.join(sorted(presets)) or 'none'}."
    )


def load(handle, num_classes=None, load_weights=True, force_download=False, include_preprocessing=True):
    """Loads a ReID model from a preset.

    Args:
        handle: a built-in preset name (see `keras_reid.list_presets()`),
            `hf://ORG/REPO` or `hf://ORG/REPO@REVISION` (downloaded through
            `huggingface_hub`: its cache, `HF_HUB_OFFLINE` and `HF_ENDPOINT` apply;
            `KERAS_REID_HUB_TIMEOUT` bounds the wait for each answer, default 30 s), a
            local preset folder, or a `.keras` file.
        num_classes: None keeps the preset's classifier. An integer that differs from
            the preset's builds fresh classifier layer(s) with that many identities and
            loads every other weight (one log line names what was replaced).
        load_weights: False builds the architecture with random weights.
        force_download: re-download Hub files even if cached.
        include_preprocessing: True (default): an end-to-end model — raw RGB images
            (uint8 or float 0–255, any size) in, L2-normalised embeddings out, the
            preset's resize and normalisation inside the model (`predict`, `fit`,
            `evaluate`, `.keras` files and `model.export` carry them). False: the bare
            model contract (inputs already resized and normalised, raw embedding).

    Returns a `keras_reid.ReIDModel` with `model.preprocessor` (a `ReIDPreprocessor`)
    and `model.preset_metadata`. Every file is confined to the preset and checked
    against the sha256 recorded in `metadata.json`; a failing check raises a
    `PresetError` and no model is returned.

    Example:
    >>> import keras_reid
    >>> model = keras_reid.load("mobilenetv2_imagenet", num_classes=100)  # doctest: +SKIP
    """
    num_classes = check_num_classes(num_classes)
    kind, value = resolve_handle(handle)
    if kind == "hf":
        value = hub.download_preset(value, force_download=force_download)
        kind = "dir"
    if kind == "dir":
        return load_preset_dir(
            value, num_classes=num_classes, load_weights=load_weights, include_preprocessing=include_preprocessing
        )
    model = _load_keras_file(value, num_classes, load_weights)
    if not include_preprocessing and hasattr(model, "set_preprocessing"):
        model.set_preprocessing(None)
    return model


def _load_keras_file(path, num_classes, load_weights):
    import keras_reid

    keras_reid.register_all()  # every keras_reid class, for deserialisation

    # Keras reports an unreadable archive as "File not found"; say what is wrong.
    if not zipfile.is_zipfile(path):
        raise PresetFormatError(
            f"{path} is not a Keras archive (a .keras file is a zip archive; this one is corrupt, truncated or "
            "another format): re-save the model with model.save(path) or download it again."
        )
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as e:
        message = " ".join(str(e).split())[:300]
        raise PresetFormatError(
            f"{path} is a corrupt or unreadable Keras archive ({type(e).__name__}: {message}): re-save the model "
            "with model.save(path) or download it again."
        ) from None
    if not load_weights:
        config = model.get_config()
        if num_classes is not None:
            config["num_classes"] = num_classes
        return model.__class__.from_config(config)
    if num_classes is not None and num_classes != model.num_classes:
        config = dict(model.get_config(), num_classes=num_classes)
        target = model.__class__.from_config(config)
        transfer_weights(model, target)
        return target
    return model
