"""Bad or huge inputs to extraction, embedding, search and evaluation (issue 14)."""

import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

import keras_reid
from keras_reid import cli

PEAK = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    keras.utils.set_random_seed(0)
    return keras_reid.save_preset(keras_reid.build("mobilenetv2", image_shape=(64, 32, 3)), str(tmp_path_factory.mktemp("p") / "preset"))


def _images(folder, count, side):
    os.makedirs(folder, exist_ok=True)
    ramp = np.linspace(0, 255, side, dtype=np.float32)
    for i in range(count):
        img = np.dstack([np.add.outer(ramp, ramp * 0.5) % 256] * 3).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(folder, f"im{i}.jpg"), quality=70)
    return folder


def _peak_mib(preset, folder, out):
    cmd = [sys.executable, "-c", PEAK, sys.executable, "-m", "keras_reid.cli", "embed", preset, folder, "-o", out]
    code, kib = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout.split()[-2:]
    assert code == "0"
    return int(kib) / 1024


def test_embed_memory_does_not_grow_with_image_size(preset, tmp_path):
    """6 images of 4000×4000: stacked as float32 before resizing they took 1.1 GiB more than
    small crops; resized one at a time, the peak is about one decoded image (46 MiB) more."""
    small = _peak_mib(preset, _images(str(tmp_path / "small"), 6, 64), str(tmp_path / "s.npy"))
    large = _peak_mib(preset, _images(str(tmp_path / "large"), 6, 4000), str(tmp_path / "l.npy"))
    assert large - small < 400, (small, large)


def test_streamed_resize_gives_the_same_embeddings(preset):
    model = keras_reid.load(preset)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size=s + (3,), dtype=np.uint8) for s in ((300, 100), (64, 32), (257, 129))]
    got = keras_reid.FeatureExtractor(model, verbose=0)(images)
    pre = model.preprocessor
    batch = np.concatenate([pre(img[None]) for img in images])
    expected = keras.ops.convert_to_numpy(model.network_embedding(batch))
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_embed_bad_file_mentions_skip_errors(preset, tmp_path, capsys):
    folder = _images(str(tmp_path / "g"), 2, 40)
    open(os.path.join(folder, "broken.jpg"), "wb").write(b"\xff\xd8 not really")
    assert cli.main(["embed", preset, folder, "-o", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "broken.jpg" in err and "--skip-errors" in err
    assert not os.path.exists(tmp_path / "o.npy")


def test_embed_and_search_with_no_readable_image_fail(preset, tmp_path, capsys):
    folder = str(tmp_path / "bad")
    os.makedirs(folder)
    for i in range(2):
        open(os.path.join(folder, f"b{i}.jpg"), "wb").write(b"junk")
    assert cli.main(["embed", preset, folder, "-o", str(tmp_path / "o.npy"), "--skip-errors"]) == 2
    assert "could be read" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "o.npy")
    query = _images(str(tmp_path / "q"), 1, 40) + "/im0.jpg"
    assert cli.main(["search", preset, "-q", query, "-g", folder, "-o", ""]) == 2
    assert "could be read" in capsys.readouterr().err


def test_all_nan_distances_warn():
    from keras_reid.evaluation import evaluate_rank

    dist = np.full((2, 3), np.nan, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluate_rank(dist, [1, 2], [1, 2, 3], [0, 0], [1, 1, 1], max_rank=3)
    assert any("6 of 6 distances are NaN" in str(w.message) for w in caught)
