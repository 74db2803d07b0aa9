"""`python -m conversion verify DIR`: load a preset, reproduce its reference tensors, check its card."""

import os

import numpy as np

from .model_card import check_card

REQUIRED_METADATA = ("name", "architecture", "license", "source")


def verify_preset(directory, rtol=1e-4, atol=0.0):
    """Checks a preset folder. Returns `(ok, lines)`; `lines` says what was checked.

    1. `keras_reid.load(directory)`: every file against its sha256 in metadata.json;
    2. the stored reference input reproduces the stored embedding: max abs diff ≤
       `atol + rtol * max |reference|`, relative to the embedding's scale so that a
       model with tiny embeddings cannot pass with wrong ones;
    3. README.md front matter (library_name, license, tags) and provenance fields.
    """
    import keras

    import keras_reid
    from keras_reid.presets import PresetError, load_reference_tensors

    lines, ok = [], True

    def fail(message):
        nonlocal ok
        ok = False
        lines.append(f"FAIL {message}")

    try:
        model = keras_reid.load(os.fspath(directory))
    except PresetError as e:
        fail(f"load: {e}")
        return ok, lines
    lines.append(f"ok   sha256 of {len(model.preset_metadata.get('files', {}))} files; loaded "
                 f"{model.__class__.__name__} ({model.count_params():,} parameters)")
    reference = load_reference_tensors(directory)
    if reference is None:
        fail("no reference_tensors.npz: re-convert with reference inputs")
    else:
        expected = reference["embedding"]
        got = keras.ops.convert_to_numpy(model.network_embedding(reference["inputs"]))
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        tolerance = atol + rtol * scale
        diff = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("inf")
        stated = f"tolerance {tolerance:.2e} = {atol:g} + {rtol:g} x max|reference| {scale:.2e}"
        if diff <= tolerance:  # False for NaN
            lines.append(f"ok   reference embedding reproduced (max abs diff {diff:.2e} <= {stated})")
        elif got.shape != expected.shape:
            fail(f"reference embedding has shape {got.shape}, the stored one {expected.shape}: re-convert the preset")
        else:
            fail(f"reference embedding differs by {diff:.2e} > {stated}: re-convert the preset")
    readme = os.path.join(directory, "README.md")
    if not os.path.exists(readme):
        fail("README.md (model card) is missing")
    else:
        with open(readme) as f:
            problems = check_card(f.read())
        for p in problems:
            fail(f"model card: {p}")
        if not problems:
            lines.append("ok   model card front matter")
    meta = model.preset_metadata
    missing = [k for k in REQUIRED_METADATA if not meta.get(k)]
    if missing:
        fail(f"metadata.json lacks {', '.join(missing)}")
    else:
        lines.append(f"ok   metadata: {meta['name']} from {meta['source']} (licence {meta['license']})")
    return ok, lines
