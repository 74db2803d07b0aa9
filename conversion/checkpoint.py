"""Safe loading of PyTorch checkpoints into `{key: numpy array}` state dicts.

`torch.load(..., weights_only=True)` is PyTorch's restricted unpickler: it rebuilds
tensors, containers and plain Python values but refuses every other global, so a
checkpoint carrying arbitrary Python objects (which a normal unpickler would
*execute*) is refused instead of run. It reads both the zip format (PyTorch ≥ 1.6)
and the legacy pickle format (`_use_new_zipfile_serialization=False`).
`.safetensors` files are read with `safetensors` when it is installed.
"""

import collections
import os

import numpy as np

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "net")
DROPPED_SUFFIXES = ("num_batches_tracked",)


class CheckpointError(ValueError):
    """A file that is not a readable, safe PyTorch/safetensors state dict."""


def _import_torch():
    try:
        import torch
    except ImportError:
        raise CheckpointError(
            "Reading PyTorch checkpoints needs PyTorch (CPU is enough): pip install torch"
        ) from None
    return torch


def _first_line(error):
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def _numpy_safe_globals():
    """numpy scalar/dtype reconstructors, allowed by PyTorch's weights-only docs as safe.

    Old torchreid-style checkpoints store metrics such as `rank1` as numpy scalars.
    """
    allowed = []
    try:
        from numpy.core.multiarray import scalar  # noqa: F401

        allowed.append(scalar)
    except Exception:  # pragma: no cover - numpy layout changes
        pass
    allowed.append(np.dtype)
    allowed.extend(type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32"))
    return allowed


def _torch_load(path):
    torch = _import_torch()
    import pickle

    def load():
        return torch.load(path, map_location="cpu", weights_only=True)

    try:
        try:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                return load()
        except AttributeError:  # pragma: no cover - very old torch without safe_globals
            return load()
    except pickle.UnpicklingError as e:
        message = _first_line(e)
        if "weights_only" in str(e) or "GLOBAL" in str(e) or "Unsupported" in str(e):
            raise CheckpointError(
                f"{path}: refused to unpickle: the checkpoint contains arbitrary Python objects "
                f"({message}); loading it would execute code. Re-save only its state_dict "
                "(torch.save(model.state_dict(), ...)) from a trusted environment."
            ) from None
        raise CheckpointError(f"{path} is not a PyTorch checkpoint or is corrupt ({message}).") from None
    except (EOFError, RuntimeError, OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint or is truncated ({type(e).__name__}: {_first_line(e)})."
        ) from None


def _safetensors_load(path):
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise CheckpointError(f"{path}: reading .safetensors needs safetensors: pip install safetensors") from None
    try:
        return load_file(path)
    except Exception as e:
        raise CheckpointError(f"{path} is not a valid safetensors file ({_first_line(e)}).") from None


def _to_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    torch = _import_torch()
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.bfloat16, torch.float16):
            value = value.float()
        return value.numpy()
    return None


def unwrap_state_dict(obj, source="checkpoint"):
    """Unwraps `{'state_dict': ...}`/`{'model': ...}`, strips `module.`, drops `num_batches_tracked`.

    Returns an ordered `{key: numpy array}`; raises `CheckpointError` when `obj` holds no tensors.
    """
    depth = 0
    while isinstance(obj, dict) and depth < 3:
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj, depth = inner, depth + 1
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"{source} holds a {type(obj).__name__}, not a state dict: save model.state_dict(), not the model."
        )
    result = collections.OrderedDict()
    non_tensors = []
    for key, value in obj.items():
        key = str(key)
        while key.startswith("module."):
            key = key[len("module.") :]
        if key.rsplit(".", 1)[-1] in DROPPED_SUFFIXES:
            continue
        array = _to_numpy(value)
        if array is None:
            non_tensors.append(key)
            continue
        if key in result:
            raise CheckpointError(f"{source}: key {key!r} appears twice after stripping 'module.'.")
        result[key] = array
    if not result:
        detail = f" (entries: {', '.join(non_tensors[:8])})" if non_tensors else ""
        raise CheckpointError(f"{source} contains no tensors{detail}: it is not a model state dict.")
    return result


def load_state_dict(path):
    """Reads a checkpoint safely and returns its state dict as `{key: numpy array}`.

    Accepts `.pth`/`.pt`/`.pth.tar` files (zip or legacy pickle, plain state dict or
    wrapped in `{'state_dict': ...}`/`{'model': ...}`, `nn.DataParallel`'s `module.`
    prefix stripped) and `.safetensors` files. `num_batches_tracked` counters are
    dropped. Any file that is not a checkpoint, is truncated or needs arbitrary
    unpickling raises `CheckpointError` with one line saying why.

    Example:
    >>> from conversion.checkpoint import load_state_dict
    >>> state = load_state_dict("model.pth.tar")  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"No such checkpoint file: {path}.")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): the download was interrupted.")
    with open(path, "rb") as f:
        head = f.read(8)
    if path.endswith(".safetensors"):
        obj = _safetensors_load(path)
    elif head.startswith(b"PK") or head[:1] == b"\x80":
        obj = _torch_load(path)
    else:
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint (neither a zip archive nor a pickle: starts with {head!r})."
        )
    return unwrap_state_dict(obj, source=path)
