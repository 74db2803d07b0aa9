"""Hostile and broken presets (issue 14): confined files, named format errors, bounded waits.

Every hostile load runs with a time limit (a thread locally, a subprocess through the
Hub) so that a regression that hangs fails instead of blocking the suite.
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

import keras_reid
from keras_reid.presets import PresetDownloadError, PresetError, PresetFormatError, PresetIntegrityError
from keras_reid.presets import hub as hub_module
from tests.presets.conftest import tiny_preset  # noqa: F401  (fixture)
from tests.presets.test_hub import ORG, _free_port, _publish
from tests.presets.test_hub import hub  # noqa: F401  (fixture: olah serving local repositories)
from tests.test_case import to_numpy

HOSTNAME = "/etc/hostname"


def _copy(src, tmp_path, name="copy"):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def _edit_metadata(preset, edit):
    meta = json.loads((preset / "metadata.json").read_text())
    meta = edit(meta)
    (preset / "metadata.json").write_text(json.dumps(meta))


def _record(meta, name, path):
    data = open(path, "rb").read()
    meta["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    return meta


def _rewrite(preset, name, text):
    """Replaces a preset file and records its new hash, so that only its content is wrong."""
    (preset / name).write_text(text)
    _edit_metadata(preset, lambda m: _record(m, name, preset / name))


def _load_within(handle, seconds=10, **kwargs):
    """`keras_reid.load(handle)` in a thread: `(exception or None, elapsed)`; fails if still running."""
    result = {}

    def run():
        start = time.perf_counter()
        try:
            keras_reid.load(str(handle), **kwargs)
        except Exception as e:  # the test inspects it
            result["error"] = e
        result["elapsed"] = time.perf_counter() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"keras_reid.load({handle}) still runs after {seconds} s (hangs)"
    return result.get("error"), result["elapsed"]


# -- 1. Files are confined to the preset ----------------------------------------------------------


def _entry(name, path=None):
    """A files entry; with `path`, the right sha256 and size of that file (the probing attack).

    Without: size 0, which is what `os.path.getsize` says of a device or FIFO, so the
    old size check passed and hashing `/dev/zero` never ended.
    """
    if path is None:
        return {name: {"sha256": "0" * 64, "size": 0}}
    data = open(path, "rb").read()
    return {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}}


HOSTILE_NAMES = {
    "absolute_dev_zero": ("/dev/zero", None, "absolute path"),
    "dotdot_right_hash": ("../../../../../../../../etc/hostname", HOSTNAME, "leaves the preset folder"),
    "backslash": ("..\\..\\etc\\hostname", None, "backslash"),
    "dot_component": ("./config.json", None, "not a plain relative path"),
    "empty_component": ("sub//x.bin", None, "not a plain relative path"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_NAMES))
def test_hostile_file_names_fail_fast(tiny_preset, tmp_path, case):  # noqa: F811
    name, path, problem = HOSTILE_NAMES[case]
    if path is not None and not os.path.isfile(path):
        pytest.skip(f"{path} is absent")
    preset = _copy(tiny_preset, tmp_path)
    _edit_metadata(preset, lambda m: {**m, "files": {**m["files"], **_entry(name, path)}})
    error, elapsed = _load_within(preset)
    assert isinstance(error, PresetFormatError), error
    message = str(error)
    assert repr(name) in message and problem in message and "metadata.json" in message, message
    assert "\n" not in message and "bytes" not in message  # says nothing of the target file
    assert elapsed < 1.0


def _fifo(preset):
    os.mkfifo(preset / "pipe")
    return "pipe", "FIFO"


def _link_out(preset):
    os.symlink(HOSTNAME, preset / "host")
    return "host", "outside the preset folder"


def _link_to_dev_zero(preset):
    os.symlink("/dev/zero", preset / "zero")
    return "zero", "outside the preset folder"


def _weights_are_a_directory(preset):
    os.remove(preset / "model.weights.h5")
    (preset / "model.weights.h5").mkdir()
    return "model.weights.h5", "directory, not a regular file"


def _metadata_is_a_fifo(preset):
    os.remove(preset / "metadata.json")
    os.mkfifo(preset / "metadata.json")
    return "metadata.json", "FIFO"


SPECIAL_FILES = {
    "fifo": _fifo,
    "symlink_out": _link_out,
    "symlink_dev_zero": _link_to_dev_zero,
    "weights_are_a_directory": _weights_are_a_directory,
    "metadata_is_a_fifo": _metadata_is_a_fifo,
}


@pytest.mark.parametrize("case", sorted(SPECIAL_FILES))
def test_special_files_fail_fast(tiny_preset, tmp_path, case):  # noqa: F811
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs POSIX FIFOs and symlinks")
    if case == "symlink_out" and not os.path.isfile(HOSTNAME):
        pytest.skip(f"{HOSTNAME} is absent")
    preset = _copy(tiny_preset, tmp_path)
    name, problem = SPECIAL_FILES[case](preset)
    if name not in ("metadata.json", "model.weights.h5"):
        # With the right hash of the target: refused for what it is, not for its content.
        target = HOSTNAME if case == "symlink_out" else None
        _edit_metadata(preset, lambda m: {**m, "files": {**m["files"], **_entry(name, target)}})
    error, elapsed = _load_within(preset)
    assert isinstance(error, PresetIntegrityError), error
    assert name in str(error) and problem in str(error), error
    assert elapsed < 1.0


def test_declared_size_above_the_format_cap(tiny_preset, tmp_path):  # noqa: F811
    preset = _copy(tiny_preset, tmp_path)
    _edit_metadata(preset, lambda m: {**m, "files": {**m["files"], "model.weights.h5": {"sha256": "0" * 64, "size": 3 << 30}}})
    error, elapsed = _load_within(preset)
    assert isinstance(error, PresetFormatError) and "files['model.weights.h5'].size" in str(error), error
    assert elapsed < 1.0


def test_links_inside_the_preset_still_load(tiny_preset, tmp_path):  # noqa: F811
    """The Hugging Face cache layout: files are links to blobs inside the repository folder."""
    repo = tmp_path / "models--org--tiny"
    snapshot = repo / "snapshots" / "abc"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for name in os.listdir(tiny_preset):
        shutil.copy(tiny_preset / name, repo / "blobs" / name)
        os.symlink(os.path.join("..", "..", "blobs", name), snapshot / name)
    model = keras_reid.load(str(snapshot))
    reference = keras_reid.presets.load_reference_tensors(snapshot)
    np.testing.assert_array_equal(to_numpy(model.network_embedding(reference["inputs"])), reference["embedding"])


HOSTILE_HUB_SCRIPT = """
import json, sys, time
import keras_reid
keras_reid.register_all()  # import Keras and the backend before timing (keras_reid imports lazily)
results = {}
for handle in sys.argv[1:]:
    start = time.perf_counter()
    try:
        keras_reid.load(handle)
        results[handle] = {"error": None}
    except keras_reid.PresetError as e:
        results[handle] = {"error": type(e).__name__, "message": str(e)}
    results[handle]["elapsed"] = time.perf_counter() - start
print(json.dumps(results))
"""


def test_hostile_names_through_the_hub(hub, tiny_preset, tmp_path):  # noqa: F811
    if shutil.which("olah-cli") is None:
        pytest.skip("olah is not installed (pip install olah)")
    mirrors = hub["root"] / "mirrors"
    names = {
        "hostile-absolute": "/dev/zero",
        "hostile-dotdot": "../../../../../../../../etc/hostname",
    }
    for repo, name in names.items():

        def add_entry(path, name=name):
            _edit_metadata(path, lambda m: {**m, "files": {**m["files"], **_entry(name)}})

        if not (mirrors / "models" / ORG / repo).exists():
            _publish(mirrors, repo, tiny_preset, tamper=add_entry)
    env = dict(os.environ, HF_ENDPOINT=hub["endpoint"], HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_TELEMETRY="1")
    env.pop("HF_HUB_OFFLINE", None)
    handles = [f"hf://{ORG}/{repo}" for repo in names]
    result = subprocess.run(
        [sys.executable, "-c", HOSTILE_HUB_SCRIPT, *handles], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    for (repo, name), handle in zip(names.items(), handles):
        got = results[handle]
        assert got["error"] == "PresetFormatError" and name in got["message"], got
        assert got["elapsed"] < 1.0, got
        # Checked before any other file was fetched.
        snapshots = list((tmp_path / "hf" / "hub").glob(f"models--{ORG}--{repo}/snapshots/*"))
        assert [sorted(os.listdir(s)) for s in snapshots] == [["metadata.json"]]


# -- 2. Malformed files name the file and the field ---------------------------------------------

MALFORMED_METADATA = {
    "array": ("[1, 2]", "must hold a JSON object, got array"),
    "null": ("null", "must hold a JSON object, got null"),
    "files_not_object": ({"files": [1]}, "field 'files'"),
    "entry_not_object": ({"files": {"config.json": "abc"}}, "files['config.json'] must be an object"),
    "entry_without_sha256": ({"files": {"config.json": {"size": 3}}}, "files['config.json'].sha256"),
    "entry_without_size": ({"files": {"config.json": {"sha256": "a" * 64}}}, "files['config.json'].size"),
    "size_not_int": ({"files": {"config.json": {"sha256": "a" * 64, "size": "3"}}}, "files['config.json'].size"),
    "sha256_not_hex": ({"files": {"config.json": {"sha256": 123, "size": 3}}}, "files['config.json'].sha256"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_METADATA))
def test_malformed_metadata(tiny_preset, tmp_path, case):  # noqa: F811
    content, field = MALFORMED_METADATA[case]
    preset = _copy(tiny_preset, tmp_path)
    text = content if isinstance(content, str) else json.dumps(content)
    (preset / "metadata.json").write_text(text)
    error, _ = _load_within(preset)
    assert isinstance(error, PresetFormatError), error
    assert "metadata.json" in str(error) and field in str(error), error


MALFORMED_PREPROCESSOR = {
    "unknown_key": ({"resize_mode": "crop"}, "unknown field(s) 'resize_mode'"),
    "image_size_string": ({"image_size": "big"}, "'image_size'"),
    "image_size_zero": ({"image_size": [0, 16]}, "'image_size'"),
    "mean_length": ({"mean": [0.5, 0.5]}, "'mean'"),
    "std_zero": ({"std": [0, 1, 1]}, "'std' must be positive"),
    "interpolation": ({"interpolation": 3}, "'interpolation'"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_PREPROCESSOR))
def test_malformed_preprocessor(tiny_preset, tmp_path, case):  # noqa: F811
    change, field = MALFORMED_PREPROCESSOR[case]
    preset = _copy(tiny_preset, tmp_path)
    config = json.loads((preset / "preprocessor.json").read_text())
    _rewrite(preset, "preprocessor.json", json.dumps({**config, **change}))
    error, _ = _load_within(preset, seconds=60)
    assert isinstance(error, PresetFormatError), error
    assert "preprocessor.json" in str(error) and field in str(error), error


MALFORMED_CONFIG = {
    "array": (lambda c: [1, 2], "must hold a JSON object"),
    "config_not_object": (lambda c: {**c, "config": 3}, "field 'config'"),
    "huge_num_classes": (lambda c: {**c, "config": {**c["config"], "num_classes": 10**9}}, "config.num_classes"),
    "zero_num_classes": (lambda c: {**c, "config": {**c["config"], "num_classes": 0}}, "num_classes must be positive"),
    "huge_image_shape": (lambda c: {**c, "config": {**c["config"], "image_shape": [60000, 30000, 3]}}, "config.image_shape"),
    "huge_embedding_dim": (lambda c: {**c, "config": {**c["config"], "embedding_dim": 10**8}}, "config.embedding_dim"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_CONFIG))
def test_malformed_or_huge_config_is_refused_before_building(tiny_preset, tmp_path, case):  # noqa: F811
    edit, field = MALFORMED_CONFIG[case]
    preset = _copy(tiny_preset, tmp_path)
    config = json.loads((preset / "config.json").read_text())
    _rewrite(preset, "config.json", json.dumps(edit(config)))
    error, elapsed = _load_within(preset, seconds=60)
    assert isinstance(error, PresetFormatError), error
    message = str(error)
    assert "config.json" in message and field in message, message
    assert "newer keras_reid" not in message and "out of memory" not in message.lower()
    assert elapsed < 5.0  # refused before building anything


def test_num_classes_zero_argument(tiny_preset):  # noqa: F811
    error, _ = _load_within(tiny_preset, num_classes=0)
    assert isinstance(error, ValueError) and "num_classes must be positive" in str(error), error
    assert "newer keras_reid" not in str(error)


def test_corrupt_keras_file(tmp_path):
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(os.urandom(2048))
    error, _ = _load_within(garbage)
    assert isinstance(error, PresetFormatError) and "not a Keras archive" in str(error), error
    assert str(garbage) in str(error) and "File not found" not in str(error)
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("config.json", "{")
    error, _ = _load_within(broken)
    assert isinstance(error, PresetFormatError) and "corrupt" in str(error), error
    assert str(broken) in str(error) and "File not found" not in str(error)


# -- 3. save_preset leaves no stale file --------------------------------------------------------


def test_save_preset_removes_a_stale_reference_file(tmp_path):
    model = keras_reid.build("mobilenetv2", num_classes=3, image_shape=(32, 16, 3))
    folder = tmp_path / "p"
    keras_reid.save_preset(model, str(folder), reference_inputs=np.zeros((1, 32, 16, 3), "float32"))
    (folder / "notes.txt").write_text("the user's own file")
    keras_reid.save_preset(model, str(folder))  # no reference this time
    assert not (folder / "reference_tensors.npz").exists()
    meta = json.loads((folder / "metadata.json").read_text())
    assert set(meta["files"]) == {"config.json", "model.weights.h5", "preprocessor.json"}
    assert (folder / "notes.txt").read_text() == "the user's own file"  # not written by a save: kept
    assert keras_reid.presets.load_reference_tensors(folder) is None
    keras_reid.load(str(folder))


# -- 4. verify is relative to the embedding scale; NaN checkpoints are refused -----------------


def _tiny_embedding_preset(folder):
    model = keras_reid.build("mobilenetv2", num_classes=3, image_shape=(32, 16, 3))
    bn = model.network.get_layer("head_bn")
    bn.set_weights([w * 1e-5 if i < 2 else w for i, w in enumerate(bn.get_weights())])  # gamma, beta
    inputs = np.random.default_rng(0).normal(size=(2, 32, 16, 3)).astype("float32")
    metadata = {"name": "tiny", "architecture": "mobilenetv2", "license": "mit", "source": "unit test"}
    keras_reid.save_preset(model, str(folder), reference_inputs=inputs, metadata=metadata)
    return folder


def test_verify_is_relative_to_the_embedding_scale(tmp_path):
    from conversion.verify import verify_preset

    folder = _tiny_embedding_preset(tmp_path / "tiny")
    ok, lines = verify_preset(folder)
    assert ok, lines
    assert any(line.startswith("ok   reference embedding reproduced") and "tolerance" in line for line in lines)
    # Every stored embedding off by 100%: still below the old absolute 1e-4.
    path = folder / "reference_tensors.npz"
    with np.load(path) as data:
        inputs, embedding = data["inputs"], data["embedding"]
    assert 0 < np.abs(embedding).max() < 1e-4
    np.savez(path, inputs=inputs, embedding=embedding * 2)
    _edit_metadata(folder, lambda m: _record(m, "reference_tensors.npz", path))
    ok, lines = verify_preset(folder)
    assert not ok
    failed = [line for line in lines if line.startswith("FAIL reference embedding differs")]
    assert len(failed) == 1 and "tolerance" in failed[0] and "max|reference|" in failed[0], lines


def test_convert_refuses_nan_weights(tmp_path, capsys):
    torch = pytest.importorskip("torch", reason="conversion needs PyTorch (CPU)")
    from conversion.__main__ import main
    from tests.conversion import torch_reference as T

    state = T.MobileNetV2(1.0, 16, reid_head_dim=512, num_classes=3).state_dict()
    state["features.4.conv.1.weight"][0] = float("nan")
    state["features.2.conv.0.weight"][0, 0, 0, 0] = float("inf")
    torch.save(state, tmp_path / "nan.pth")
    code = main(["convert", "--arch", "mobilenetv2", "--checkpoint", str(tmp_path / "nan.pth"),
                 "--output", str(tmp_path / "out"), "--image-size", "64", "32"])
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "NaN or Inf" in errors[0] and "nan.pth" in errors[0], err
    assert "features.4.conv.1.weight" in errors[0] and "features.2.conv.0.weight" in errors[0]
    assert not (tmp_path / "out").exists()


# -- 5. A silent or absent Hub fails fast -------------------------------------------------------


def test_hub_timeout_variable(monkeypatch):
    monkeypatch.delenv("KERAS_REID_HUB_TIMEOUT", raising=False)
    connect, read = hub_module.hub_timeouts()
    assert connect <= 5 and 10 <= read <= 60
    monkeypatch.setenv("KERAS_REID_HUB_TIMEOUT", "2")
    assert hub_module.hub_timeouts() == (2.0, 2.0)
    monkeypatch.setenv("KERAS_REID_HUB_TIMEOUT", "ten")
    with pytest.raises(PresetError, match="KERAS_REID_HUB_TIMEOUT must be a number of seconds"):
        hub_module.hub_timeouts()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung Hub)."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                self.connections.append(self.socket.accept()[0])
            except (socket.timeout, OSError):
                continue

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        for conn in self.connections:
            conn.close()
        self.socket.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.stop()


TIMEOUT_SCRIPT = """
import json, time
import keras_reid
keras_reid.register_all()  # import Keras and the backend before timing (keras_reid imports lazily)
start = time.perf_counter()
try:
    keras_reid.load("hf://keras-reid-test/tiny")
    result = {"error": None}
except keras_reid.PresetError as e:
    result = {"error": type(e).__name__, "message": str(e)}
result["elapsed"] = time.perf_counter() - start
print(json.dumps(result))
"""


def _load_from(endpoint, hf_home, timeout_s):
    env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1",
               KERAS_REID_HUB_TIMEOUT=str(timeout_s))
    for name in ("HF_HUB_OFFLINE", "HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-c", TIMEOUT_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _result(process):
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("keras_reid.load of an hf:// handle did not return within 120 s")
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_silent_or_absent_hub_fails_fast(silent_server, tmp_path):
    # Both loads run at once: each pays the import, not the other's wait.
    silent = _load_from(f"http://127.0.0.1:{silent_server.port}", tmp_path / "a", timeout_s=2)
    absent = _load_from(f"http://127.0.0.1:{_free_port()}", tmp_path / "b", timeout_s=2)
    silent, absent = _result(silent), _result(absent)
    assert silent["error"] == "PresetDownloadError", silent
    assert "did not answer within 2 s" in silent["message"] and "KERAS_REID_HUB_TIMEOUT" in silent["message"], silent
    assert "metadata.json" in silent["message"] and "\n" not in silent["message"]
    assert 1.5 < silent["elapsed"] < 8, silent  # the configured limit, not huggingface_hub's retries
    assert absent["error"] == "PresetDownloadError" and "Cannot download" in absent["message"], absent
    assert absent["elapsed"] < 4, absent  # no retries with back-off (~24 s before)
    assert silent_server.connections  # the silent server was asked

