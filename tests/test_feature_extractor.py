import os

import keras
import numpy as np
import pytest
from PIL import Image

import keras_reid
from keras_reid.feature_extractor import FeatureExtractor, ImageReadError, _finite_l2_normalize, read_image
from keras_reid.presets import ReIDPreprocessor

SHAPE = (64, 32, 3)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(1)
    return keras_reid.build("mobilenetv2", image_shape=SHAPE)


def _images(n, seed=0, size=(70, 40)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n,) + size + (3,), dtype=np.uint8)


def _manual(model, images, flip=False):
    """Independent reference: the preprocessor, the model in inference mode, NumPy maths."""
    x = ReIDPreprocessor(SHAPE[:2])(images)
    a = keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64)
    if flip:
        b = keras.ops.convert_to_numpy(model(np.ascontiguousarray(x[:, :, ::-1]), training=False))
        a = (a + b) / 2
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_output_shape_dtype_and_unit_norm(model):
    out = FeatureExtractor(model)(_images(3))
    assert out.shape == (3, 512) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out, _manual(model, _images(3)), atol=1e-5)


def test_flip_is_normalised_mean_of_both_passes(model):
    images = _images(2, seed=3)
    out = FeatureExtractor(model, flip=True)(images)
    np.testing.assert_allclose(out, _manual(model, images, flip=True), atol=1e-5)
    # and it differs from the plain embedding (the model is not flip invariant)
    assert not np.allclose(out, _manual(model, images), atol=1e-4)


def test_every_input_type_gives_the_same_embeddings(model, tmp_path):
    images = _images(3, seed=5)
    folder = tmp_path / "gallery"
    (folder / "sub").mkdir(parents=True)
    paths = [str(folder / "a.png"), str(folder / "b.png"), str(folder / "sub" / "c.png")]
    for img, p in zip(images, paths):
        Image.fromarray(img).save(p)
    (folder / "notes.txt").write_text("not an image")
    extractor = FeatureExtractor(model, batch_size=2)
    reference = extractor(images)  # (N, H, W, 3) uint8 array
    variants = {
        "paths": extractor(paths),
        "pathlib": extractor([folder / "a.png", folder / "b.png", folder / "sub" / "c.png"]),
        "pil": extractor([Image.open(p) for p in paths]),
        "arrays": extractor(list(images)),
        "mixed": extractor([paths[0], Image.open(paths[1]), images[2]]),
        "folder": extractor(str(folder)),
    }
    assert extractor.last_paths == sorted(paths)
    for name, out in variants.items():
        np.testing.assert_allclose(out, reference, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(extractor(paths[0]), reference[:1], atol=1e-5)


def test_batching_does_not_change_results(model):
    images = _images(5, seed=7)
    one_batch = FeatureExtractor(model, batch_size=32, verbose=False)(images)
    many = FeatureExtractor(model, batch_size=2, verbose=False)(images)  # compiled, padded path
    np.testing.assert_allclose(many, one_batch, atol=1e-5)


def test_threaded_decoding_keeps_order_and_names_bad_files(model, tmp_path):
    """Decoding ahead in threads (several batches): same embeddings, same order, and a
    bad file in a later batch is still reported by name or skipped in place."""
    paths = []
    for i, image in enumerate(_images(9, seed=3, size=(90, 30))):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    inputs = paths[:6] + [bad] + paths[6:]
    inline = FeatureExtractor(model, batch_size=2, verbose=False, num_workers=0)
    threaded = FeatureExtractor(model, batch_size=2, verbose=False, num_workers=3)
    out, kept = threaded(inputs, on_error="skip")
    ref, ref_kept = inline(inputs, on_error="skip")
    assert kept == ref_kept == [str(p) for p in paths]
    np.testing.assert_allclose(out, ref, atol=1e-6)
    np.testing.assert_allclose(out, _manual(model, np.stack([np.asarray(Image.open(p)) for p in paths])), atol=1e-5)
    with pytest.raises(ImageReadError, match="bad.png"):
        threaded(inputs)
    with pytest.raises(ValueError, match="num_workers"):
        FeatureExtractor(model, num_workers=-1)


def test_odd_images(model, tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (50, 30, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (50, 30), dtype=np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([rgb, np.full((50, 30), 7, np.uint8)]), "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "deep.png")  # 16-bit PNG
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=16).save(tmp_path / "palette.png")
    Image.fromarray(rgb[:1, :1]).save(tmp_path / "tiny.png")
    Image.fromarray(rng.integers(0, 256, (4, 900, 3), dtype=np.uint8)).save(tmp_path / "wide.png")
    Image.fromarray(rng.integers(0, 256, (900, 3, 3), dtype=np.uint8)).save(tmp_path / "tall.png")

    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    np.testing.assert_array_equal(read_image(tmp_path / "gray.png"), np.dstack([gray] * 3))
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png"), np.dstack([gray] * 3))
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)
    palette = read_image(tmp_path / "palette.png")
    assert palette.shape == (50, 30, 3) and palette.dtype == np.uint8

    names = ["gray", "rgba", "deep", "palette", "tiny", "wide", "tall"]
    out = FeatureExtractor(model)([tmp_path / f"{n}.png" for n in names])
    assert out.shape == (len(names), 512) and np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # grayscale and its 16-bit version hold the same pixels
    np.testing.assert_allclose(out[0], out[2], atol=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(_images(1, size=(20, 10))[0])
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    img.save(tmp_path / "rotated.jpg", exif=exif)
    assert read_image(tmp_path / "rotated.jpg").shape == (10, 20, 3)


def test_truncated_and_missing_files(model, tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(_images(1)[0]).save(good, quality=90)
    data = good.read_bytes()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(data[: len(data) // 2])
    extractor = FeatureExtractor(model)
    with pytest.raises(ImageReadError) as info:
        extractor([good, bad])
    message = str(info.value)
    assert str(bad) in message and "\n" not in message
    with pytest.raises(ImageReadError, match="no such file"):
        extractor([tmp_path / "missing.jpg"])
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    out, kept = extractor([good, bad, text], on_error="skip")
    assert out.shape == (1, 512) and kept == [str(good)]
    np.testing.assert_allclose(out, extractor([good]), atol=1e-6)


def test_bad_arguments(model):
    with pytest.raises(ImageReadError, match="uint8"):
        FeatureExtractor(model)(np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match="preprocessor"):
        FeatureExtractor(model, preprocessor=ReIDPreprocessor((32, 16)))
    with pytest.raises(ValueError, match="on_error"):
        FeatureExtractor(model, on_error="ignore")


def test_nan_safe_normalisation():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [np.nan, 1.0]], "float32")
    out = _finite_l2_normalize(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0, 0], [0, 0]], atol=1e-7)


def test_loads_a_preset_folder_and_shows_progress(model, tmp_path, capsys):
    preset = keras_reid.save_preset(model, str(tmp_path / "preset"))
    extractor = keras_reid.FeatureExtractor(preset, batch_size=2, verbose=True)
    assert extractor.preprocessor == ReIDPreprocessor(SHAPE[:2])
    out = extractor(_images(3))
    np.testing.assert_allclose(out, FeatureExtractor(model)(_images(3)), atol=1e-5)
    assert "3/3" in capsys.readouterr().err
    assert os.path.isdir(preset)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area"])
def test_resize_of_a_decoded_image_equals_the_preprocessors(model, interpolation):
    """The extractor resizes each uint8 image with one kernel op; the pixels are the ones
    `ReIDPreprocessor.resize` (`tf.image.resize` on float32) gives, bit for bit."""
    tf = pytest.importorskip("tensorflow")
    extractor = FeatureExtractor(model, preprocessor=ReIDPreprocessor(SHAPE[:2], interpolation=interpolation))
    for size in [(150, 47), (40, 20), (64, 90)]:  # down, up, mixed
        image = _images(1, seed=sum(size), size=size)[0]
        got = extractor._fit(image)
        want = tf.image.resize(tf.cast(image[None], tf.float32), SHAPE[:2], method=interpolation, antialias=False)[0].numpy()
        assert got.dtype == np.float32 and got.shape == SHAPE
        np.testing.assert_array_equal(got, want)
