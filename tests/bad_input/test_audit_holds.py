"""Hostile inputs the issue-14 audit found handled; kept under test so they stay handled.

Elsewhere: malicious pickles (`tests/conversion/test_checkpoint.py`), tampered or truncated
weights (`tests/presets/test_preset_io.py`), `kill -9` during training and during a checkpoint
write (`tests/training/test_trainer.py`)."""

import os

import keras
import pytest
from PIL import Image

import keras_reid
from keras_reid.feature_extractor import ImageReadError, read_image


def test_decompression_bomb_is_refused(tmp_path):
    path = str(tmp_path / "bomb.png")
    Image.new("1", (20000, 20000)).save(path)  # 4e8 pixels declared, a few kB on disk
    with pytest.raises(ImageReadError, match="bomb.png"):
        read_image(path)


def test_code_in_a_keras_file_is_not_executed(tmp_path):
    """A `.keras` file whose config carries Python code (a Lambda layer) is refused (Keras safe mode)."""
    marker = str(tmp_path / "pwned")
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: (open(marker, "w").close(), x)[1])(inputs)  # noqa: SIM115
    path = str(tmp_path / "hostile.keras")
    keras.Model(inputs, outputs).save(path)
    os.remove(marker)  # written while the model was traced for saving
    with pytest.raises(Exception, match="(?i)lambda|safe"):
        keras_reid.load(path)
    assert not os.path.exists(marker)
