"""Safe checkpoint reading: formats, unwrapping, and refusal of unsafe or broken files."""

import os
import pickle

import numpy as np
import pytest
import torch

from conversion.checkpoint import CheckpointError, load_state_dict


def _state():
    bn = torch.nn.BatchNorm2d(3)
    return {"conv.weight": torch.randn(3, 2, 1, 1), **{f"bn.{k}": v for k, v in bn.state_dict().items()}}


@pytest.mark.parametrize("legacy", [False, True])
def test_plain_state_dict(tmp_path, legacy):
    path = tmp_path / "plain.pth"
    kwargs = {"_use_new_zipfile_serialization": False} if legacy else {}
    torch.save(_state(), path, **kwargs)
    state = load_state_dict(path)
    assert list(state) == ["conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
    assert all(isinstance(v, np.ndarray) for v in state.values())


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_wrapped_dataparallel_checkpoint(tmp_path, wrapper):
    state = {f"module.{k}": v for k, v in _state().items()}
    path = tmp_path / "model.pth.tar-100"
    torch.save({wrapper: state, "epoch": 100, "rank1": 0.94, "optimizer": {"lr": 3e-4}}, path)
    loaded = load_state_dict(path)
    assert "conv.weight" in loaded and not any(k.startswith("module.") for k in loaded)
    assert not any(k.endswith("num_batches_tracked") for k in loaded)


def test_numpy_scalar_metadata_is_allowed(tmp_path):
    path = tmp_path / "np.pth"
    torch.save({"state_dict": _state(), "rank1": np.float64(0.9)}, path)
    assert "conv.weight" in load_state_dict(path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch EVIL_WAS_EXECUTED",))


@pytest.mark.parametrize("legacy", [False, True])
def test_arbitrary_objects_are_refused_not_executed(tmp_path, monkeypatch, legacy):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    kwargs = {"_use_new_zipfile_serialization": False} if legacy else {}
    torch.save({"state_dict": _state(), "payload": _Evil()}, path, **kwargs)
    with pytest.raises(CheckpointError, match="refused to unpickle") as info:
        load_state_dict(path)
    assert not (tmp_path / "EVIL_WAS_EXECUTED").exists()
    assert "\n" not in str(info.value)


def test_whole_module_pickle_is_refused(tmp_path):
    path = tmp_path / "module.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError, match="refused to unpickle"):
        load_state_dict(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "full.pth"
    torch.save(_state(), path)
    data = path.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated|corrupt") as info:
        load_state_dict(cut)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "content, match",
    [(b"", "empty"), (b"hello, not a checkpoint", "not a PyTorch checkpoint")],
)
def test_not_a_checkpoint(tmp_path, content, match):
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_state_dict(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="No such checkpoint"):
        load_state_dict(tmp_path / "nope.pth")


def test_no_tensors(tmp_path):
    path = tmp_path / "meta.pth"
    torch.save({"epoch": 3, "rank1": 0.5}, path)
    with pytest.raises(CheckpointError, match="no tensors"):
        load_state_dict(path)


def test_plain_pickle_is_refused(tmp_path):
    path = tmp_path / "pickled.pkl"
    path.write_bytes(pickle.dumps({"w": _Evil()}, protocol=2))
    with pytest.raises(CheckpointError):
        load_state_dict(path)
