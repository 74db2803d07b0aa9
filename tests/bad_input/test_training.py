"""Bad training input (issue 14): numbers, resumes with other settings, corrupt images,
empty splits. Each case ends in one clear error (or warning) naming the problem."""

import json
import logging
import os
import shutil

import keras
import pytest

import keras_reid
from keras_reid.training import train
from keras_reid.training.trainer import TrainingConfigError
from tests.training.helpers import make_folder_dataset, tiny_recipe


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return make_folder_dataset(str(tmp_path_factory.mktemp("tiny_bad")))


def _cli(args, capsys):
    from keras_reid.cli import main

    code = main(["train"] + args) if args and args[0] != "eval" else main(args)
    return code, capsys.readouterr()


@pytest.mark.parametrize(
    "option, value",
    [("--epochs", "0"), ("--batch-size", "0"), ("--eval-every", "-1"), ("--max-steps-per-epoch", "0"),
     ("--fixbase-epochs", "-2"), ("--lr-milestones", "0"), ("--seed", "-1"), ("--epochs", "two")],
)
def test_cli_refuses_bad_numbers(tiny_root, tmp_path, capsys, option, value):
    args = ["--recipe", "mobilenetv2", "--dataset", "image_folder", "--root", tiny_root, "--output", str(tmp_path / "o"), option, value]
    with pytest.raises(SystemExit) as e:
        _cli(args, capsys)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert option in err
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.parametrize(
    "kwargs, fragment",
    [({"epochs": 0}, "epochs must be a positive integer"), ({"batch_size": 0}, "batch_size must be a positive integer"),
     ({"lr_milestones": (0,)}, "lr_milestones must be epochs >= 1"), ({"image_size": (8, 4)}, "image_size must lie"),
     ({"lr": 0.0}, "lr must be positive")],
)
def test_library_refuses_bad_numbers(tiny_root, tmp_path, kwargs, fragment):
    with pytest.raises(TrainingConfigError, match=fragment):
        train(tiny_recipe(), tiny_root, str(tmp_path), verbose=0, **kwargs)
    assert not os.path.exists(os.path.join(tmp_path, "preset"))


def test_resume_refuses_other_settings_unless_allowed(tiny_root, tmp_path):
    out = str(tmp_path / "run")
    train(tiny_recipe(), tiny_root, out, seed=1, verbose=0, stop_after_epoch=1)
    with pytest.raises(TrainingConfigError, match=r"seed: 1 -> 2.*--allow-changes"):
        train(tiny_recipe(), tiny_root, out, seed=2, verbose=0)
    with pytest.raises(TrainingConfigError, match=r"lr_milestones: \[2\] -> \[1\]"):
        train(tiny_recipe(lr_milestones=(1,)), tiny_root, out, seed=1, verbose=0)
    with pytest.raises(TrainingConfigError, match="epochs: 3 -> 4"):
        train(tiny_recipe(), tiny_root, out, seed=1, epochs=4, lr_milestones=(2,), verbose=0)
    keras.backend.clear_session()  # variable paths of a fresh process, as a real resume has
    result = train(tiny_recipe(), tiny_root, out, seed=2, verbose=0, allow_changes=True)
    meta = json.load(open(os.path.join(result["preset"], "metadata.json")))
    assert meta["training"]["resumed_with_changes"] == {"seed": {"checkpoint": 1, "now": 2}}
    assert meta["training"]["seed"] == 2


def test_corrupt_training_image_is_named_before_the_first_step(tiny_root, tmp_path, caplog):
    root = str(tmp_path / "ds")
    shutil.copytree(tiny_root, root)
    bad = os.path.join(root, "train", "id03", "train_1.png")
    with open(bad, "r+b") as f:
        f.truncate(40)  # a truncated PNG
    with pytest.raises(TrainingConfigError, match=r"1 training image\(s\) cannot be decoded.*train_1.png.*--skip-bad-images"):
        train(tiny_recipe(epochs=1, fixbase_epochs=0, lr_milestones=()), root, str(tmp_path / "a"), verbose=0)
    assert not os.path.exists(tmp_path / "a" / "checkpoints")
    with caplog.at_level(logging.WARNING, logger="keras_reid.training"):
        result = train(tiny_recipe(epochs=1, fixbase_epochs=0, lr_milestones=()), root, str(tmp_path / "b"),
                       verbose=0, skip_bad_images=True, write_preset=False)
    assert result["epochs"] == 1
    assert "Skipping 1 undecodable training image(s)" in caplog.text and "train_1.png" in caplog.text


def test_cli_names_the_corrupt_image(tiny_root, tmp_path, capsys):
    root = str(tmp_path / "ds")
    shutil.copytree(tiny_root, root)
    with open(os.path.join(root, "train", "id01", "train_0.png"), "wb") as f:
        f.write(b"not a png")
    code, out = _cli(["--recipe", "mobilenetv2", "--dataset", "image_folder", "--root", root, "--output", str(tmp_path / "o"),
                      "--epochs", "1", "--batch-size", "8", "--image-size", "64", "32", "--init-preset", "none", "--quiet"], capsys)
    assert code == 2
    line = out.err.strip().splitlines()[-1]
    assert line.startswith("keras-reid: error:") and "train_0.png" in line and "--skip-bad-images" in line


def test_empty_training_split_names_the_folder(tmp_path):
    from keras_reid.data import ReIDDataset

    with pytest.raises(TrainingConfigError, match="no training images"):
        train(tiny_recipe(), ReIDDataset("empty", [], [], []), str(tmp_path), verbose=0)


def test_empty_val_split_warns(tiny_root, tmp_path, caplog):
    root = str(tmp_path / "ds")
    shutil.copytree(tiny_root, root)
    shutil.rmtree(os.path.join(root, "query"))
    shutil.rmtree(os.path.join(root, "gallery"))
    with caplog.at_level(logging.WARNING, logger="keras_reid.training"):
        result = train(tiny_recipe(epochs=1, fixbase_epochs=0, lr_milestones=()), root, str(tmp_path / "o"),
                       verbose=0, eval_every=1, write_preset=False)
    assert result["metrics"] is None
    assert "training runs without evaluation" in caplog.text
