"""An architecture family is one folder (docs/CONTRIBUTING.md), done for real with a toy family.

`tests/models/toy_family/toy_reid/` is copied as it is into a fresh folder and named in
`KERAS_REID_FAMILIES`; nothing else is edited. In fresh processes the copy must then give
everything a family brings: `keras_reid.build`, the recipe (`keras-reid train` trains it and
writes a preset that loads), and the upstream layout (`python -m conversion convert` turns the
toy PyTorch model's state dict into a preset that computes what PyTorch computes).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.training.helpers import make_folder_dataset

REPO = pathlib.Path(__file__).resolve().parents[2]
TOY = pathlib.Path(__file__).resolve().parent / "toy_family" / "toy_reid"


@pytest.fixture
def family(tmp_path):
    """The toy family copied into `tmp/site/toy_reid`, and the environment that loads it."""
    site = tmp_path / "site"
    shutil.copytree(TOY, site / "toy_reid", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), str(REPO), env.get("PYTHONPATH")]))
    env["KERAS_REID_FAMILIES"] = "toy_reid"
    return env


def run(env, *args, backend=None):
    if backend:
        env = {**env, "KERAS_BACKEND": backend}
    result = subprocess.run([sys.executable, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


CHECK = r"""
import doctest, json, os, tempfile
import numpy as np, keras, keras_reid
import toy_reid, toy_reid.toy_backbone, toy_reid.toy_net
from keras_reid.models.registry import default_layout, get_layout
from keras_reid.training.recipes import get_recipe, recipe_for_architecture

model = keras_reid.build("toy_net", num_classes=3, image_shape=(32, 16, 3))
x = np.random.RandomState(0).rand(2, 32, 16, 3).astype("float32")
path = os.path.join(tempfile.mkdtemp(), "toy.keras")
model.save(path)
restored = keras.saving.load_model(path)
failures = sum(doctest.testmod(m).failed for m in (toy_reid.toy_backbone, toy_reid.toy_net))
print(json.dumps({
    "listed": "toy_net" in keras_reid.list_architectures(),
    "exported": keras_reid.models.ToyNet is toy_reid.ToyNet,
    "shape": list(model.predict(x, verbose=0).shape),
    "round_trip": float(np.abs(restored.predict(x, verbose=0) - model.predict(x, verbose=0)).max()),
    "recipe": get_recipe("toy_net").architecture,
    "own_recipe": recipe_for_architecture("toy_net").name,
    "layout": [default_layout("toy_net"), get_layout("toy_torch").name],
    "doctest_failures": failures,
}))
"""


def test_family_folder_registers_everything(family):
    report = json.loads(run(family, "-c", CHECK).strip().splitlines()[-1])
    assert report == {
        "listed": True,
        "exported": True,
        "shape": [2, 64],
        "round_trip": pytest.approx(0.0, abs=1e-6),
        "recipe": "toy_net",
        "own_recipe": "toy_net",
        "layout": ["toy_torch", "toy_torch"],
        "doctest_failures": 0,
    }


def test_unimportable_family_is_a_clear_error(family):
    env = {**family, "KERAS_REID_FAMILIES": "toy_reid,not_a_family"}
    result = subprocess.run([sys.executable, "-c", "import keras_reid.models"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "KERAS_REID_FAMILIES names the family 'not_a_family'" in result.stderr


def test_family_recipe_trains_with_the_cli(family, tmp_path):
    data = make_folder_dataset(str(tmp_path / "data"))
    out = tmp_path / "run"
    run(family, "-c", "import sys; from keras_reid.cli import main; sys.exit(main(sys.argv[1:]))",
        "train", "--recipe", "toy_net", "--dataset", "image_folder", "--root", data, "--output", str(out),
        "--epochs", "1", "--max-steps-per-epoch", "2", "--quiet", backend="tensorflow")
    loaded = run(family, "-c", f"import keras_reid; m = keras_reid.load({str(out / 'preset')!r}); "
                 "print(type(m).__name__, m.num_classes, m.embedding_dim)", backend="tensorflow")
    assert loaded.split()[-3:] == ["ToyNet", "6", "64"]


def test_family_layout_converts_the_upstream_model(family, tmp_path):
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class ToyUpstream(nn.Module):
        """The toy family's "upstream" PyTorch model (layouts/toy_torch.py)."""

        def __init__(self, num_classes=5):
            super().__init__()
            block = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
            self.block1, self.block2 = block(3, 16), block(16, 32)
            self.head = nn.Linear(32, 64, bias=False)
            self.head_bn = nn.BatchNorm1d(64)
            self.classifier = nn.Linear(64, num_classes)

        def forward(self, x):
            x = self.block2(self.block1(x)).mean(dim=(2, 3))
            return self.head_bn(self.head(x))

    torch.manual_seed(0)
    upstream = ToyUpstream()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for module in upstream.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    upstream.eval()
    checkpoint = tmp_path / "toy.pth"
    torch.save(upstream.state_dict(), checkpoint)
    x = np.random.RandomState(1).rand(3, 64, 32, 3).astype("float32")
    with torch.no_grad():
        expected = upstream(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    np.save(tmp_path / "x.npy", x)
    preset = tmp_path / "preset"
    run(family, "-m", "conversion", "convert", "--arch", "toy_net", "--checkpoint", str(checkpoint),
        "--output", str(preset), "--image-size", "64", "32", backend="tensorflow")
    out = run(family, "-c", "import sys, numpy as np, keras_reid; "
              f"m = keras_reid.load({str(preset)!r}, include_preprocessing=False); "
              f"np.save({str(tmp_path / 'y.npy')!r}, np.asarray(m.network_embedding(np.load({str(tmp_path / 'x.npy')!r})))); "
              "print(m.num_classes)", backend="tensorflow")
    assert out.split()[-1] == "5"
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5, atol=1e-5)
