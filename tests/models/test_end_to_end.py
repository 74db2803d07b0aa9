"""End-to-end models: raw images of any size in, the preset's preprocessing inside the model.

`keras_reid.load(name)` returns a model whose `predict`, `fit`, `evaluate` and `.keras`
file carry the preset's resize and normalisation, and whose inference output is the
L2-normalised embedding `FeatureExtractor` returns.
"""

import json
import pathlib
import shutil

import keras
import numpy as np
import pytest
from PIL import Image

import keras_reid
from keras_reid.presets import load_reference_tensors
from tests.test_case import assert_max_abs_close, to_numpy

SAMPLES = pathlib.Path(keras_reid.__file__).parent / "assets" / "samples"
PRESET = "mobilenetv2_multisource"  # the embedded default (128x64)


def _raw_images(paths, size=(90, 200)):
    """uint8 crops resized by Pillow to one size that is not the model's."""
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize(size)) for p in paths])


def _real_or_sample_paths(root, count):
    if root is None:
        return sorted(SAMPLES.glob("*.jpg"))[:count]
    return sorted((root / "cuhk03_labeled_partial" / "val").glob("*.jpg"))[:count]


@pytest.fixture(scope="module")
def model():
    return keras_reid.load(PRESET)


def _check_predict_matches_extractor(model, paths):
    images = _raw_images(paths)
    got = model.predict(images, verbose=0)
    want = keras_reid.FeatureExtractor(model)(list(images))
    assert_max_abs_close("predict(raw uint8) vs FeatureExtractor", got, want, 1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # The same images as float 0-255 and one by one through model(x) give the same.
    assert_max_abs_close("model(float 0-255)", to_numpy(model(images[:2].astype("float32"))), got[:2], 1e-5)


def test_predict_on_raw_images_matches_the_extractor(model):
    _check_predict_matches_extractor(model, _real_or_sample_paths(None, 8))


@pytest.mark.real_data
def test_predict_on_real_crops_matches_the_extractor(model, datasets_root):
    _check_predict_matches_extractor(model, _real_or_sample_paths(datasets_root, 16))


def test_bare_model_is_the_contract_with_unchanged_reference(model):
    """`include_preprocessing=False` is the bare contract; both reproduce the stored reference."""
    bare = keras_reid.load(PRESET, include_preprocessing=False)
    assert bare.preprocessing is None and not bare.normalize_embedding
    ref = load_reference_tensors(bare.preset_folder)
    assert_max_abs_close("bare model(reference inputs)", to_numpy(bare(ref["inputs"])), ref["embedding"], 1e-4)
    assert_max_abs_close("network_embedding", to_numpy(model.network_embedding(ref["inputs"])), ref["embedding"], 1e-4)
    # End to end = the bare model on the preprocessor's output, L2-normalised.
    images = _raw_images(_real_or_sample_paths(None, 4))
    raw = to_numpy(bare(model.preprocessor(images)))
    want = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert_max_abs_close("end to end vs bare + preprocessor", to_numpy(model(images)), want, 1e-5)


def test_keras_file_and_preset_carry_the_preprocessing(model, tmp_path):
    images = _raw_images(_real_or_sample_paths(None, 3), size=(50, 120))
    want = to_numpy(model(images))
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path, compile=False)
    assert restored.preprocessing.get_config() == model.preprocessing.get_config()
    assert_max_abs_close(".keras round trip", to_numpy(restored(images)), want, 1e-6)
    # A preset of an end-to-end model: bare config.json + preprocessor.json, as every preset.
    folder = keras_reid.save_preset(model, str(tmp_path / "preset"))
    config = json.loads((pathlib.Path(folder) / "config.json").read_text())["config"]
    assert "preprocessing" not in config and "normalize_embedding" not in config
    assert keras_reid.ReIDPreprocessor.load(str(pathlib.Path(folder) / "preprocessor.json")) == model.preprocessor
    assert_max_abs_close("preset round trip", to_numpy(keras_reid.load(folder)(images)), want, 1e-6)


def test_set_preprocessing_on_a_built_model():
    model = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
    images = np.random.default_rng(0).integers(0, 256, (2, 100, 40, 3), dtype=np.uint8)
    pre = keras_reid.ReIDPreprocessor((64, 32))
    raw = to_numpy(model(pre(images)))
    model.set_preprocessing(pre)
    got = to_numpy(model(images))
    assert_max_abs_close("set_preprocessing", got, raw / np.linalg.norm(raw, axis=1, keepdims=True), 1e-5)
    with pytest.raises(ValueError, match="expects"):
        model.set_preprocessing(keras_reid.ReIDPreprocessor((128, 64)))
    model.set_preprocessing(None)
    assert_max_abs_close("bare again", to_numpy(model(pre(images))), raw, 0)


def _folder_dataset(tmp_path, groups, image_size, batch_size=8, shuffle=True):
    """`keras.utils.image_dataset_from_directory` over one sub-folder per identity."""
    for label, paths in groups.items():
        (tmp_path / label).mkdir(parents=True, exist_ok=True)
        for p in paths:
            shutil.copy(p, tmp_path / label / pathlib.Path(p).name)
    return keras.utils.image_dataset_from_directory(
        str(tmp_path), image_size=image_size, batch_size=batch_size, shuffle=shuffle, seed=0, verbose=False
    )


def _fit_lowers_the_loss(train_groups, held_out_groups, tmp_path, epochs):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("fit from tf.data on one backend keeps the multi-backend run short")
    keras.utils.set_random_seed(0)
    train = _folder_dataset(tmp_path / "train", train_groups, (160, 80))
    held_out = _folder_dataset(tmp_path / "held_out", held_out_groups, (160, 80), shuffle=False)
    model = keras_reid.load("mobilenetv2_imagenet", num_classes=len(train_groups))
    model.compile(optimizer=keras.optimizers.Adam(3e-4))
    before = model.evaluate(held_out, verbose=0)
    history = model.fit(train, epochs=epochs, verbose=0).history["loss"]
    after = model.evaluate(held_out, verbose=0)
    print(f"fit loss {history}; held-out objective {before:.3f} -> {after:.3f}")
    assert history[-1] < history[0]
    assert after < before
    return model


def test_fit_on_image_dataset_from_directory(tmp_path):
    """Raw 0-255 images of another size from Keras' own folder loader train the model."""
    paths = sorted(SAMPLES.glob("*.jpg"))
    groups = {}
    for p in paths:
        groups.setdefault(p.name[:6], []).append(p)
    train = {k: v[:2] for k, v in groups.items()}
    held_out = {k: v[2:] for k, v in groups.items()}
    _fit_lowers_the_loss(train, held_out, tmp_path, epochs=4)


@pytest.mark.real_data
def test_fit_on_real_crops_improves_the_held_out_objective(tmp_path, datasets_root):
    paths = sorted((datasets_root / "cuhk03_labeled_partial" / "train").glob("*.jpg"))
    groups = {}
    for p in paths:
        groups.setdefault(p.name[:4], []).append(p)
    ids = sorted(k for k, v in groups.items() if len(v) >= 6)[:12]
    train = {k: groups[k][:4] for k in ids}
    held_out = {k: groups[k][4:6] for k in ids}
    _fit_lowers_the_loss(train, held_out, tmp_path, epochs=4)


def test_extractor_flip_and_raw_embeddings_are_the_bare_models(model):
    """The extractor runs an end-to-end model's network: the flip test averages raw
    embeddings and `normalize=False` returns them, exactly as for the bare model."""
    bare = keras_reid.load(PRESET, include_preprocessing=False)
    images = list(_raw_images(_real_or_sample_paths(None, 4)))
    for options in ({"flip": True}, {"normalize": False}):
        got = keras_reid.FeatureExtractor(model, **options)(images)
        want = keras_reid.FeatureExtractor(bare, **options)(images)
        assert_max_abs_close(f"extractor {options}", got, want, 1e-6)
    raw = keras_reid.FeatureExtractor(model, normalize=False)(images)
    assert np.linalg.norm(raw, axis=1).min() > 1.5  # raw, not unit vectors


def test_set_preprocessing_after_predict_retraces():
    model = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
    pre = keras_reid.ReIDPreprocessor((64, 32))
    images = np.random.default_rng(1).integers(0, 256, (2, 64, 32, 3), dtype=np.uint8)
    raw = model.predict(pre(images), verbose=0)
    model.set_preprocessing(pre)
    got = model.predict(images, verbose=0)  # not the cached bare predict step
    assert_max_abs_close("predict after set_preprocessing", got, raw / np.linalg.norm(raw, axis=1, keepdims=True), 1e-5)


def test_attention_maps_of_an_end_to_end_model(tmp_path):
    """`visualize attention` feeds preprocessed images: the maps are the bare model's."""
    from keras_reid.visualization import attention_maps

    keras.utils.set_random_seed(0)
    folder = keras_reid.save_preset(keras_reid.build("mobilenetv2_stra", image_shape=(64, 32, 3)), str(tmp_path / "p"))
    e2e, bare = keras_reid.load(folder), keras_reid.load(folder, include_preprocessing=False)
    x = e2e.preprocessor(np.random.default_rng(2).integers(0, 256, (1, 64, 32, 3), dtype=np.uint8))
    got, want = attention_maps(e2e, x), attention_maps(bare, x)
    assert got and len(got) == len(want)
    for g, w in zip(got, want):
        assert_max_abs_close(f"attention {g['layer']}", to_numpy(g["maps"]), to_numpy(w["maps"]), 1e-6)
