"""The Hub download path, against a real local server that speaks the Hub's HTTP API.

`olah` (PyPI) serves local git repositories laid out as `<mirrors-path>/models/<org>/<repo>`
when its config sets `offline = true`; `huggingface_hub` talks to it through `HF_ENDPOINT`.
Loads run in subprocesses because `huggingface_hub` reads `HF_ENDPOINT`/`HF_HOME` at import.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

pytestmark = pytest.mark.skipif(shutil.which("olah-cli") is None, reason="olah is not installed (pip install olah)")

ORG = "keras-reid-test"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def _publish(mirrors, name, preset_dir, tamper=None):
    repo = mirrors / "models" / ORG / name
    shutil.copytree(preset_dir, repo)
    if tamper:
        tamper(repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "preset")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def hub(tiny_preset, tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    mirrors = root / "mirrors"
    revisions = {"tiny": _publish(mirrors, "tiny", tiny_preset)}

    def truncate(repo):
        data = (repo / "model.weights.h5").read_bytes()
        (repo / "model.weights.h5").write_bytes(data[:1000])

    revisions["truncated"] = _publish(mirrors, "truncated", tiny_preset, tamper=truncate)
    # The real converted ImageNet preset of the zoo, served as a Hub repository.
    real = pathlib.Path(__file__).resolve().parents[2] / "zoo" / "mobilenetv2_imagenet" / "preset"
    if real.is_dir():
        revisions["mobilenetv2_imagenet"] = _publish(mirrors, "mobilenetv2_imagenet", real)
    port = _free_port()
    config = root / "olah.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [basic]
            host = "127.0.0.1"
            port = {port}
            repos-path = "{root / 'repos'}"
            mirrors-path = ["{mirrors}"]

            [accessibility]
            offline = true
            """
        )
    )
    log = open(root / "olah.log", "w")
    server = subprocess.Popen(["olah-cli", "-c", str(config)], cwd=root, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/{ORG}/tiny/resolve/main/metadata.json", timeout=2)
            break
        except Exception:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                pytest.fail(f"olah did not start: {(root / 'olah.log').read_text()[-2000:]}")
            time.sleep(0.5)
    # mirrors: where olah finds repositories (models/<org>/<name>), read at every request.
    yield {"endpoint": endpoint, "revisions": revisions, "root": root, "mirrors": mirrors}
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


LOAD_SCRIPT = """
import json, sys
import keras
import numpy as np
import keras_reid
from keras_reid.presets import load_reference_tensors
try:
    model = keras_reid.load(sys.argv[1])
except keras_reid.PresetError as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
    sys.exit(0)
ref = load_reference_tensors(model.preset_folder)
out = keras.ops.convert_to_numpy(model.network_embedding(ref["inputs"]))
print(json.dumps({"max_abs": float(np.abs(out - ref["embedding"]).max()), "folder": model.preset_folder}))
"""


def _load(handle, hf_home, endpoint, offline=False):
    env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1")
    env.pop("HF_HUB_OFFLINE", None)
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, handle, "x"], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_download_cache_offline_and_revision(hub, tmp_path):
    hf_home = tmp_path / "hf"
    first = _load(f"hf://{ORG}/tiny", hf_home, hub["endpoint"])
    assert first.get("max_abs") == 0.0, first
    assert str(hf_home) in first["folder"]  # in the huggingface_hub cache
    # Offline, from the cache (the server is not even asked).
    offline = _load(f"hf://{ORG}/tiny", hf_home, "http://127.0.0.1:9", offline=True)
    assert offline.get("max_abs") == 0.0, offline
    # Revision pinning by commit sha.
    pinned = _load(f"hf://{ORG}/tiny@{hub['revisions']['tiny']}", tmp_path / "hf2", hub["endpoint"])
    assert pinned.get("max_abs") == 0.0, pinned


def test_errors(hub, tmp_path):
    missing = _load(f"hf://{ORG}/no-such-model", tmp_path / "a", hub["endpoint"])
    assert missing["error"] == "PresetNotFoundError", missing
    truncated = _load(f"hf://{ORG}/truncated", tmp_path / "b", hub["endpoint"])
    assert truncated["error"] == "PresetIntegrityError" and "truncated" in truncated["message"], truncated
    no_network = _load(f"hf://{ORG}/tiny", tmp_path / "c", "http://127.0.0.1:9")
    assert no_network["error"] == "PresetDownloadError", no_network
    assert "no network" in no_network["message"] or "Cannot download" in no_network["message"]


def test_real_zoo_preset_through_the_hub(hub, tmp_path):
    if "mobilenetv2_imagenet" not in hub["revisions"]:
        pytest.skip("zoo/mobilenetv2_imagenet/preset is not in this checkout")
    loaded = _load(f"hf://{ORG}/mobilenetv2_imagenet", tmp_path / "hf", hub["endpoint"])
    # The bytes are sha256-checked on load; the embedding was stored on another machine, whose
    # oneDNN kernels may round differently (3.8e-6 measured on an AMD EPYC), hence float32 rounding.
    assert "max_abs" in loaded and loaded["max_abs"] <= 1e-5, loaded
