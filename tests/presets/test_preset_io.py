import json
import logging
import os
import shutil

import numpy as np
import pytest

import keras_reid
from keras_reid.presets import (
    PresetIntegrityError,
    PresetNotFoundError,
    load_reference_tensors,
)
from tests.test_case import to_numpy


def _copy(src, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_layout_and_metadata(tiny_preset):
    files = sorted(os.listdir(tiny_preset))
    assert files == sorted(
        ["config.json", "model.weights.h5", "preprocessor.json", "metadata.json", "README.md", "reference_tensors.npz"]
    )
    meta = json.loads((tiny_preset / "metadata.json").read_text())
    assert meta["embedding_dim"] == 512 and meta["num_classes"] == 5 and meta["image_size"] == [32, 16]
    assert set(meta["files"]) == {"config.json", "model.weights.h5", "preprocessor.json", "reference_tensors.npz"}
    assert meta["weights_dtype"] == "float16"


def test_round_trip_is_bit_exact(tiny_preset, tmp_path):
    model = keras_reid.load(str(tiny_preset))
    ref = load_reference_tensors(tiny_preset)
    np.testing.assert_array_equal(to_numpy(model.network_embedding(ref["inputs"])), ref["embedding"])
    # Saving the loaded model again and reloading it gives identical weights.
    keras_reid.save_preset(model, str(tmp_path / "again"))
    again = keras_reid.load(str(tmp_path / "again"))
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.preprocessor.image_size == (32, 16)


def test_num_classes_replaces_only_the_classifier(tiny_preset, caplog):
    original = keras_reid.load(str(tiny_preset))
    with caplog.at_level(logging.WARNING, logger="keras_reid"):
        model = keras_reid.load(str(tiny_preset), num_classes=11)
    assert model.num_classes == 11
    assert model.network.get_layer("classifier").kernel.shape == (512, 11)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "classifier" in messages[0] and "11" in messages[0]
    for layer in original.network.layers:
        if layer.weights and not layer.name.startswith("classifier"):
            for a, b in zip(layer.get_weights(), model.network.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(a, b)


def test_load_weights_false_gives_random_weights(tiny_preset):
    loaded = keras_reid.load(str(tiny_preset))
    fresh = keras_reid.load(str(tiny_preset), load_weights=False)
    assert not np.allclose(loaded.get_weights()[0], fresh.get_weights()[0])


def test_tampered_weights_are_refused(tiny_preset, tmp_path):
    preset = _copy(tiny_preset, tmp_path)
    data = bytearray((preset / "model.weights.h5").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (preset / "model.weights.h5").write_bytes(bytes(data))
    with pytest.raises(PresetIntegrityError, match="sha256"):
        keras_reid.load(str(preset))


def test_truncated_weights_are_refused(tiny_preset, tmp_path):
    preset = _copy(tiny_preset, tmp_path)
    data = (preset / "model.weights.h5").read_bytes()
    (preset / "model.weights.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(PresetIntegrityError, match="truncated"):
        keras_reid.load(str(preset))


def test_missing_file_is_refused(tiny_preset, tmp_path):
    preset = _copy(tiny_preset, tmp_path)
    os.remove(preset / "preprocessor.json")
    with pytest.raises(PresetIntegrityError, match="preprocessor.json is missing"):
        keras_reid.load(str(preset))


def test_not_a_preset_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PresetIntegrityError, match="not a keras_reid preset"):
        keras_reid.load(str(tmp_path / "empty"))


def test_weights_of_another_architecture_are_refused(tiny_preset, tmp_path):
    """Right hashes, wrong checkpoint: a clear error, never a half-loaded model."""
    other = keras_reid.build("resnet50", num_classes=5, image_shape=(32, 16, 3))
    keras_reid.save_preset(other, str(tmp_path / "other"))
    preset = _copy(tiny_preset, tmp_path)
    shutil.copy(tmp_path / "other" / "model.weights.h5", preset / "model.weights.h5")
    meta = json.loads((preset / "metadata.json").read_text())
    other_meta = json.loads((tmp_path / "other" / "metadata.json").read_text())
    meta["files"]["model.weights.h5"] = other_meta["files"]["model.weights.h5"]
    (preset / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(PresetIntegrityError, match="another architecture"):
        keras_reid.load(str(preset))


def test_unknown_name_lists_forms():
    with pytest.raises(PresetNotFoundError) as info:
        keras_reid.load("resnet50_strra_market")
    message = str(info.value)
    assert "hf://ORG/REPO" in message and ".keras" in message and "list_presets" in message


def test_missing_local_folder():
    with pytest.raises(PresetNotFoundError, match="No such preset folder"):
        keras_reid.load("./does/not/exist")


def test_keras_file_handle(tiny_preset, tmp_path):
    model = keras_reid.load(str(tiny_preset))
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras_reid.load(path)
    x = np.random.rand(1, 32, 16, 3).astype("float32")
    np.testing.assert_allclose(to_numpy(restored(x)), to_numpy(model(x)), atol=1e-6)
    replaced = keras_reid.load(path, num_classes=2)
    assert replaced.num_classes == 2
    np.testing.assert_allclose(to_numpy(replaced(x)), to_numpy(model(x)), atol=1e-6)


def test_compiled_model_preset_has_no_optimizer_state(tmp_path):
    import h5py

    model = keras_reid.build("mobilenetv2", num_classes=3, image_shape=(32, 16, 3))
    model.compile(optimizer="adam")
    model.fit(np.random.rand(4, 32, 16, 3).astype("float32"), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    keras_reid.save_preset(model, str(tmp_path / "p"))
    with h5py.File(tmp_path / "p" / "model.weights.h5", "r") as f:
        names = []
        f.visit(names.append)
    assert not any("optimizer" in n for n in names), [n for n in names if "optimizer" in n][:5]
    restored = keras_reid.load(str(tmp_path / "p"))
    x = np.random.rand(2, 32, 16, 3).astype("float32")
    np.testing.assert_array_equal(to_numpy(restored.network_embedding(x)), to_numpy(model(x, training=False)))
