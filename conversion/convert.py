"""High-level conversion: checkpoint file → freshly built keras_reid model (+ report)."""

import os

import numpy as np

from .checkpoint import CheckpointError, load_state_dict, unwrap_state_dict
from .layouts import default_layout, get_layout
from .mapping import ConversionReport, apply_layout

AUTO = "auto"


def resolve_num_classes(state, layout, num_classes=AUTO):
    """`auto`: the checkpoint's classifier size (None without classifier); 0/None: embedding-only."""
    if num_classes == AUTO:
        key = layout.classifier_key
        return int(state[key].shape[0]) if key and key in state else None
    if num_classes in (None, 0):
        return None
    return int(num_classes)


def check_finite(state, source):
    """Refuses a state dict holding NaN or Inf values: they would be converted and published silently."""
    bad = [
        key
        for key, array in state.items()
        if np.issubdtype(np.asarray(array).dtype, np.floating) and not np.all(np.isfinite(array))
    ]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise CheckpointError(
            f"{source}: {len(bad)} tensor(s) hold NaN or Inf values ({shown}): the checkpoint is corrupt or "
            "its training diverged; convert a healthy checkpoint."
        )


def convert_checkpoint(
    checkpoint,
    architecture,
    layout=None,
    num_classes=AUTO,
    strict=True,
    seed=None,
    source=None,
    **model_options,
):
    """Builds `architecture` with fresh weights and assigns a PyTorch checkpoint into it.

    Args:
        checkpoint: a checkpoint path (read safely by `conversion.checkpoint`) or an
            already loaded `{key: array}` state dict.
        architecture: a `keras_reid.list_architectures()` name.
        layout: a `conversion.layouts.list_layouts()` name; default: the architecture's.
        num_classes: "auto" (the checkpoint's classifier size), 0/None (embedding-only:
            classifier keys are ignored and reported) or an int.
        strict: refuse (raise `ConversionError`, nothing returned) unless every key maps.
        seed: seeds `keras.utils.set_random_seed` before building, so variables the
            checkpoint does not provide (e.g. a ReID head on ImageNet weights) are
            reproducible.
        source: how messages name the checkpoint (default: its path, or "state dict").
        **model_options: constructor options (e.g. `image_shape`, `output_stride`).

    Returns `(model, report)`.
    """
    import keras

    import keras_reid

    if isinstance(checkpoint, (str, os.PathLike)):
        state = load_state_dict(checkpoint)
    else:
        state = unwrap_state_dict(dict(checkpoint), source="state dict")
    layout = get_layout(layout or default_layout(architecture))
    classes = resolve_num_classes(state, layout, num_classes)
    dropped = []
    if classes is None:
        for key in list(state):
            rule, target = layout.target_of(key)
            if target is not None and target.startswith("classifier/"):
                dropped.append(key)
                del state[key]
    if source is None:
        source = os.fspath(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else "state dict"
    check_finite(state, source)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    model = keras_reid.build(architecture, num_classes=classes, **model_options)
    report = apply_layout(state, model, layout, strict=strict)
    report.ignored.extend(dropped)
    return model, report


__all__ = ["check_finite", "convert_checkpoint", "resolve_num_classes", "ConversionReport", "AUTO"]
