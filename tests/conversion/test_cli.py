"""`python -m conversion` end to end (subprocesses), and publishing up to the network boundary."""

import hashlib
import os
import pathlib
import subprocess
import sys

import pytest

from tests.conversion import torch_reference as T

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "conversion", *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    ref = T.randomize(T.MobileNetV2(1.0, 16, reid_head_dim=512, num_classes=3), seed=21)
    ckpt = T.save_checkpoint(ref, tmp / "mnv2_reid.pth", wrap=True, prefix="module.")
    out = tmp / "mnv2_test"
    result = _cli("convert", "--arch", "mobilenetv2", "--checkpoint", ckpt, "--output", out,
                  "--image-size", 64, 32, "--license", "mit", "--source", "unit test")
    assert result.returncode == 0, result.stderr
    assert "layout mobilenetv2_tonylins: " in result.stdout
    return out, ckpt


def test_convert_writes_a_verifiable_preset(preset):
    out, ckpt = preset
    for name in ("config.json", "model.weights.h5", "metadata.json", "README.md", "reference_tensors.npz"):
        assert (out / name).exists()
    result = _cli("verify", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference embedding reproduced" in result.stdout and "preset OK" in result.stdout


def test_verify_detects_tampering(preset, tmp_path):
    out, _ = preset
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    text = (copy / "preprocessor.json").read_text()
    (copy / "preprocessor.json").write_text(text.replace("bilinear", "bilineaR"))  # same size
    result = _cli("verify", copy)
    assert result.returncode == 1 and "sha256" in result.stdout


def test_publish_dry_run_lists_files(preset):
    out, _ = preset
    result = _cli("publish", out, "--repo-id", "someorg/mnv2-test", "--revision", "v1", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would upload to https://huggingface.co/someorg/mnv2-test revision v1 (public)" in result.stdout
    digest = hashlib.sha256((out / "model.weights.h5").read_bytes()).hexdigest()
    assert f"model.weights.h5  {(out / 'model.weights.h5').stat().st_size} bytes  sha256 {digest}" in result.stdout


def test_strict_failure_is_one_clear_error(tmp_path):
    ref = T.MobileNetV2(1.0, 16, reid_head_dim=512, num_classes=3)
    state = ref.state_dict()
    del state["features.4.conv.1.weight"]
    import torch

    torch.save(state, tmp_path / "broken.pth")
    result = _cli("convert", "--arch", "mobilenetv2", "--checkpoint", tmp_path / "broken.pth",
                  "--output", tmp_path / "out", "--image-size", 64, 32)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # TF logs aside
    assert errors[0].startswith("error: Checkpoint does not match layout 'mobilenetv2_tonylins'")
    assert "features_4_expand_bn/gamma" in result.stderr
    assert not (tmp_path / "out").exists()


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_text("<html>Google Drive quota exceeded</html>")
    result = _cli("convert", "--arch", "resnet50_stra", "--checkpoint", bad, "--output", tmp_path / "o")
    assert result.returncode == 2 and "not a PyTorch checkpoint" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not a PyTorch checkpoint" in errors[0]


class FakeApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))

    def create_branch(self, **kwargs):
        self.calls.append(("create_branch", kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return "https://huggingface.co/someorg/x/commit/abc"


def test_publish_calls_the_hub_api(preset, monkeypatch):
    import huggingface_hub

    from conversion.__main__ import main

    out, _ = preset
    fake = FakeApi()
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: fake)
    assert main(["publish", str(out), "--repo-id", "someorg/x", "--revision", "v1", "--private"]) == 0
    names = [name for name, _ in fake.calls]
    assert names == ["create_repo", "create_branch", "upload_folder"]
    assert fake.calls[0][1] == {"repo_id": "someorg/x", "repo_type": "model", "private": True, "exist_ok": True}
    assert fake.calls[1][1]["branch"] == "v1"
    upload = fake.calls[2][1]
    assert upload["folder_path"] == str(out) and upload["repo_id"] == "someorg/x" and upload["revision"] == "v1"


def test_publish_refuses_an_invalid_preset(preset, tmp_path, monkeypatch):
    import shutil

    import huggingface_hub

    from conversion.publish import publish

    out, _ = preset
    copy = tmp_path / "nocard"
    shutil.copytree(out, copy)
    (copy / "README.md").write_text("no front matter\n")
    fake = FakeApi()
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: fake)
    with pytest.raises(ValueError, match="front matter"):
        publish(copy, "someorg/x")
    assert fake.calls == []
