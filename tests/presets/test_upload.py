"""`keras_reid.upload_preset` against a local Hub: written through the real `huggingface_hub`
client to `hub_upload_server.py` (a test double of the Hub's commit API), read back through
the real `olah` server of test_hub.py, which serves the same mirrors folder.

Uploads run in subprocesses: `huggingface_hub` reads `HF_ENDPOINT` at import.
"""

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.presets.hub_upload_server import HubUploadServer
from tests.presets.test_hub import ORG, _free_port, _load, hub  # noqa: F401 (hub: the olah fixture)

pytestmark = pytest.mark.skipif(shutil.which("olah-cli") is None, reason="olah is not installed (pip install olah)")

TOKEN = "hf_keras_reid_test_write_token"


@pytest.fixture(scope="module")
def preset(tiny_preset, tmp_path_factory):
    """`tiny_preset` with the metadata publishing asks for (architecture, licence, source)."""
    path = tmp_path_factory.mktemp("upload") / "tiny"
    shutil.copytree(tiny_preset, path)
    metadata = json.loads((path / "metadata.json").read_text())
    metadata.update(architecture="mobilenetv2", license="mit", source="keras_reid unit test")
    (path / "metadata.json").write_text(json.dumps(metadata, indent=2))
    return path


@pytest.fixture(scope="module")
def server(hub):
    with HubUploadServer(hub["mirrors"], TOKEN) as running:
        yield running


UPLOAD_SCRIPT = """
import json, sys, time
import keras_reid
import keras_reid.conversion.publish, huggingface_hub  # imported before the clock starts
results = []
for call in json.loads(sys.argv[1]):
    start = time.monotonic()
    try:
        info = keras_reid.upload_preset(call["preset"], call["uri"], **call.get("kwargs", {}))
    except keras_reid.PresetError as e:
        results.append({"error": type(e).__name__, "message": str(e), "seconds": time.monotonic() - start})
    else:
        results.append({"oid": info.oid, "commit_url": info.commit_url, "repo_id": info.repo_url.repo_id,
                        "seconds": time.monotonic() - start})
print(json.dumps(results))
"""


def _upload(calls, endpoint, hf_home, env_token=None, **env):
    """Runs `upload_preset(**call)` for each call in one fresh interpreter; returns the results."""
    environ = dict(
        os.environ, HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1", TF_CPP_MIN_LOG_LEVEL="3"
    )
    for name in ("HF_TOKEN", "HF_TOKEN_PATH", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "KERAS_REID_HUB_TIMEOUT"):
        environ.pop(name, None)
    if env_token is not None:
        environ["HF_TOKEN"] = env_token
    environ.update(env)
    calls = [{**call, "preset": str(call["preset"])} for call in calls]
    result = subprocess.run(
        [sys.executable, "-c", UPLOAD_SCRIPT, json.dumps(calls)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def _one_line(message):
    assert "\n" not in message, message
    return message


def test_upload_round_trip_and_update(server, hub, preset, tmp_path):
    repo = hub["mirrors"] / "models" / ORG / "uploaded"
    assert not repo.exists()
    # 1. Token from HF_TOKEN; a new repository.
    [first] = _upload([{"preset": preset, "uri": f"hf://{ORG}/uploaded"}], server.endpoint, tmp_path / "up", TOKEN)
    assert "oid" in first, first
    assert first["oid"] == _git(repo, "rev-parse", "refs/heads/main")  # the real git commit
    assert first["repo_id"] == f"{ORG}/uploaded" and first["oid"] in first["commit_url"]
    uploaded = sorted(_git(repo, "ls-tree", "-r", "--name-only", first["oid"]).splitlines())
    assert uploaded == sorted(p.name for p in preset.iterdir())
    # 2. Read back through olah (started before the repository existed).
    hf_home = tmp_path / "hf"
    loaded = _load(f"hf://{ORG}/uploaded", hf_home, hub["endpoint"])
    assert loaded.get("max_abs") == 0.0, loaded
    assert os.path.basename(loaded["folder"]) == first["oid"]  # the snapshot of that commit
    for name in ("model.weights.h5", "config.json", "metadata.json", "preprocessor.json", "reference_tensors.npz"):
        assert (preset / name).read_bytes() == open(os.path.join(loaded["folder"], name), "rb").read(), name

    # 3. A second upload to the existing repository (token= argument): a new commit holding
    #    what changed; and an upload to a branch of a new repository.
    changed = tmp_path / "changed"
    shutil.copytree(preset, changed)
    with open(changed / "README.md", "a") as f:
        f.write("\nSecond revision of the card.\n")
    second, branched = _upload(
        [
            {"preset": changed, "uri": f"hf://{ORG}/uploaded", "kwargs": {"token": TOKEN, "commit_message": "v2"}},
            {"preset": preset, "uri": f"hf://{ORG}/branched@v1", "kwargs": {"token": TOKEN}},
        ],
        server.endpoint,
        tmp_path / "up2",
    )
    assert "oid" in second, second
    assert second["oid"] != first["oid"] and second["oid"] == _git(repo, "rev-parse", "refs/heads/main")
    assert _git(repo, "rev-parse", f"{second['oid']}^") == first["oid"]
    assert _git(repo, "log", "-1", "--format=%s", second["oid"]) == "v2"
    assert _git(repo, "diff", "--name-only", first["oid"], second["oid"]) == "README.md"
    again = _load(f"hf://{ORG}/uploaded", hf_home, hub["endpoint"])  # same cache: main moved
    assert again.get("max_abs") == 0.0 and os.path.basename(again["folder"]) == second["oid"], again
    with open(os.path.join(again["folder"], "README.md")) as f:
        assert "Second revision of the card." in f.read()

    assert "oid" in branched, branched
    other = hub["mirrors"] / "models" / ORG / "branched"
    assert branched["oid"] == _git(other, "rev-parse", "refs/heads/v1")
    assert _git(other, "ls-tree", "-r", "--name-only", "refs/heads/main") == ""  # main untouched
    assert "model.weights.h5" in _git(other, "ls-tree", "-r", "--name-only", "refs/heads/v1")


def test_wrong_or_missing_token_commits_nothing(server, hub, preset, tmp_path):
    before = len(server.requests)
    wrong, missing = _upload(
        [
            {"preset": preset, "uri": f"hf://{ORG}/denied", "kwargs": {"token": "hf_wrong"}},
            {"preset": preset, "uri": f"hf://{ORG}/denied"},  # no HF_TOKEN, no saved login
        ],
        server.endpoint,
        tmp_path / "hf",
    )
    for result in (wrong, missing):
        assert result.get("error") == "PresetUploadError", result
        message = _one_line(result["message"])
        assert "hf auth login" in message and "HF_TOKEN" in message and "401" in message, message
    seen = server.requests[before:]
    assert seen and all(status == 401 for _, path, status in seen if path != "/api/validate-yaml"), seen
    assert not (hub["mirrors"] / "models" / ORG / "denied").exists()


def test_tampered_preset_is_refused_before_any_request(server, hub, preset, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(preset, tampered)
    data = (tampered / "model.weights.h5").read_bytes()
    (tampered / "model.weights.h5").write_bytes(data[: len(data) // 2])
    before = len(server.requests)
    call = {"preset": tampered, "uri": f"hf://{ORG}/tampered", "kwargs": {"token": TOKEN}}
    [result] = _upload([call], server.endpoint, tmp_path / "hf")
    assert result.get("error") == "PresetUploadError", result
    message = _one_line(result["message"])
    assert "Refusing to upload" in message and "model.weights.h5" in message and "nothing was uploaded" in message
    assert server.requests[before:] == []
    assert not (hub["mirrors"] / "models" / ORG / "tampered").exists()


@pytest.mark.parametrize(
    "uri",
    ["keras-reid-test/x", "hf://x", "hf://a/b/c", "hf:///b", "hf://a/", "hf://a/b@", "gs://a/b", "hf://a /b",
     "hf://a/b@" + "0" * 40],
)
def test_bad_uri(uri, preset):
    import keras_reid

    # Refused before the preset is even read: no network, no HF_ENDPOINT needed.
    with pytest.raises(ValueError, match=r"expected hf://ORG/NAME or hf://ORG/NAME@BRANCH") as info:
        keras_reid.upload_preset(preset, uri)
    assert not isinstance(info.value, keras_reid.PresetError)
    _one_line(str(info.value))


def test_unreachable_or_silent_hub_fails_fast(preset, tmp_path):
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    call = {"preset": preset, "uri": f"hf://{ORG}/x", "kwargs": {"token": TOKEN}}
    [refused] = _upload([call], closed, tmp_path / "a")
    assert refused.get("error") == "PresetUploadError", refused
    message = _one_line(refused["message"])
    assert closed in message and "cannot be reached" in message and "HF_ENDPOINT" in message, message
    assert refused["seconds"] < 15, refused  # preset verification included; no retries with backoff

    # A server that accepts connections and never answers: KERAS_REID_HUB_TIMEOUT bounds the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        [timed_out] = _upload([call], endpoint, tmp_path / "b", KERAS_REID_HUB_TIMEOUT="2")
    assert timed_out.get("error") == "PresetUploadError", timed_out
    message = _one_line(timed_out["message"])
    assert endpoint in message and "no answer within 2 s" in message, message
    assert timed_out["seconds"] < 15, timed_out
