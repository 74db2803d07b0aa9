import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_reid import data
from keras_reid.data import ImageDecodeError, RandomIdentitySampler, load_image, verify_images
from keras_reid.presets.preprocessor import ReIDPreprocessor
from tests.data.synthetic import write_image

SIZE = (16, 8)


# -- decoding --------------------------------------------------------------------------------
def _save(path, img, **kw):
    img.save(path, **kw)
    return str(path)


def test_load_image_modes(tmp_path):
    gray = np.arange(32, dtype=np.uint8).reshape(8, 4) * 8
    out = load_image(_save(tmp_path / "l.png", Image.fromarray(gray)))
    assert out.shape == (8, 4, 3) and out.dtype == np.uint8 and (out == gray[:, :, None]).all()

    la = Image.merge("LA", [Image.fromarray(gray), Image.fromarray(np.full_like(gray, 9))])
    assert (load_image(_save(tmp_path / "la.png", la)) == gray[:, :, None]).all()

    rgba = np.random.default_rng(0).integers(0, 256, (8, 4, 4), dtype=np.uint8)
    out = load_image(_save(tmp_path / "rgba.png", Image.fromarray(rgba)))
    assert (out == rgba[:, :, :3]).all()  # alpha dropped, as PIL convert("RGB") / torchreid

    palette = Image.fromarray(gray).convert("P")
    out = load_image(_save(tmp_path / "p.png", palette))
    assert out.shape == (8, 4, 3) and np.abs(out.astype(int) - gray[:, :, None]).max() <= 1

    deep = (np.arange(32, dtype=np.uint16).reshape(8, 4) * 2000).astype(np.uint16)
    path16 = _save(tmp_path / "g16.png", Image.fromarray(deep))
    out = load_image(path16)
    expected = np.round(deep / 65535.0 * 255).astype(np.uint8)
    assert np.abs(out[:, :, 0].astype(int) - expected).max() <= 1 and out[-1, -1, 0] > 200

    cmyk = Image.new("CMYK", (4, 8), (0, 255, 255, 0))
    out = load_image(_save(tmp_path / "cmyk.jpg", cmyk))
    assert out.shape == (8, 4, 3) and out[..., 0].mean() > 200 and out[..., 1].mean() < 60


def test_truncated_and_fake_images(tmp_path):
    good = write_image(str(tmp_path / "good.jpg"), size=(64, 32))
    blob = open(good, "rb").read()
    truncated = str(tmp_path / "truncated.jpg")
    with open(truncated, "wb") as f:
        f.write(blob[: len(blob) // 2])
    fake = str(tmp_path / "fake.jpg")
    with open(fake, "w") as f:
        f.write("not an image")
    for path in (truncated, fake, str(tmp_path / "missing.jpg")):
        with pytest.raises(ImageDecodeError, match=os.path.basename(path)):
            load_image(path)
    bad = verify_images([good, truncated, data.ImageRecord(fake, 0, 0)])
    assert [p for p, _ in bad] == [truncated, fake]
    # ... and the pipeline fails at decode time, naming the file.
    ds = data.eval_dataset([(good, 0, 0), (truncated, 1, 0)], image_size=SIZE, batch_size=2)
    with pytest.raises(tf.errors.OpError, match="truncated.jpg"):
        list(ds.as_numpy_iterator())


def test_training_and_inference_read_a_rotated_jpeg_alike(tmp_path):
    """A phone JPEG stored landscape with EXIF orientation 6 ("rotate 90° clockwise"): the
    training pipeline and FeatureExtractor both see it upright (one `read_image`)."""
    from keras_reid.feature_extractor import read_image

    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # a white band on the stored image's left edge
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6
    path = _save(tmp_path / "rotated.jpg", img, exif=exif, quality=95)
    trained = load_image(path)
    assert trained.shape == (40, 20, 3)  # upright: portrait
    assert trained[:8].mean() > 200 and trained[-8:].mean() < 50  # the band is now on top
    np.testing.assert_array_equal(trained, read_image(path))
    ds = data.eval_dataset([data.ImageRecord(path, 0, 0)], ReIDPreprocessor((40, 20)), batch_size=1)
    batch = next(iter(ds.as_numpy_iterator()))
    want = ReIDPreprocessor((40, 20))(trained[None])
    np.testing.assert_allclose(batch["images"], want, atol=1e-5)


def test_pipeline_decodes_odd_modes(tmp_path):
    paths = [
        _save(tmp_path / "a.png", Image.fromarray(np.full((20, 10), 128, np.uint8))),
        _save(tmp_path / "b.png", Image.fromarray(np.full((20, 10), 32896, np.uint16))),
        _save(tmp_path / "c.png", Image.fromarray(np.full((20, 10, 4), 128, np.uint8))),
    ]
    pre = ReIDPreprocessor(SIZE)
    batch = next(data.eval_dataset([(p, i, 0) for i, p in enumerate(paths)], pre, batch_size=3).as_numpy_iterator())
    expected = pre.normalize(np.full((1, 1, 1, 3), 128.0))
    assert batch["images"].shape == (3,) + SIZE + (3,)
    np.testing.assert_allclose(batch["images"], np.broadcast_to(expected, batch["images"].shape), atol=1e-5)


# -- sampler ---------------------------------------------------------------------------------
def test_random_identity_sampler():
    pids = [0] * 9 + [1] * 2 + [2] * 4 + [3] * 5 + [4] * 1
    sampler = RandomIdentitySampler(pids, num_instances=4, num_identities=2, seed=3)
    idx = sampler.epoch_indices(0)
    assert len(idx) % 8 == 0 and len(idx) >= 16
    for batch in idx.reshape(-1, 8):
        groups = np.asarray(pids)[batch].reshape(2, 4)
        assert (groups == groups[:, :1]).all() and groups[0, 0] != groups[1, 0]
    assert set(np.asarray(pids)[idx]) <= {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(idx, RandomIdentitySampler(pids, 4, 2, seed=3).epoch_indices(0))
    assert not np.array_equal(idx, sampler.epoch_indices(1))
    assert len(sampler) == 8 + 4 + 4 + 4 + 4  # ids with < K images are sampled with replacement
    with pytest.raises(ValueError, match="only 5"):
        RandomIdentitySampler(pids, 4, 6)


# -- train / eval pipelines --------------------------------------------------------------------
@pytest.fixture
def train_records(tmp_path):
    records = []
    for pid in range(4):
        for k in range(3 + pid):
            path = write_image(str(tmp_path / f"{pid}_{k}.png"), size=(20 + k, 10), seed=pid * 10 + k)
            records.append((path, pid, k % 2))
    return records


def _batches(ds, n):
    return list(ds.take(n).as_numpy_iterator())


def test_train_pipeline_deterministic(train_records):
    def build(seed):
        return data.train_dataset(train_records, image_size=SIZE, num_identities=2, num_instances=2, seed=seed)

    first, second, other = _batches(build(5), 3), _batches(build(5), 3), _batches(build(6), 3)
    for (xa, ya), (xb, yb) in zip(first, second):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa, xb)
    assert any(not np.array_equal(xa, xo) for (xa, _), (xo, _) in zip(first, other))
    x, y = first[0]
    assert x.shape == (4,) + SIZE + (3,) and x.dtype == np.float32 and y.dtype == np.int32
    assert y[0] == y[1] and y[2] == y[3] and y[0] != y[2]


def test_train_pipeline_without_augmentation_matches_preprocessor(train_records):
    pre = ReIDPreprocessor(SIZE)
    ds = data.train_dataset(train_records, pre, sampler="random", batch_size=3, augmentation=False, seed=0, epochs=1)
    batches = _batches(ds, 10)
    assert sum(len(y) for _, y in batches) == 18  # 18 images, one epoch, last partial batch dropped
    image = np.asarray(Image.open(train_records[0][0]))[None]
    reference = pre(image)[0]
    found = any(np.allclose(x_i, reference, atol=1e-4) for x, _ in batches for x_i in x)
    assert found


def test_eval_pipeline_order(train_records):
    batches = _batches(data.eval_dataset(train_records, image_size=SIZE, batch_size=4), 10)
    paths = [p.decode() for b in batches for p in b["paths"]]
    assert paths == [r[0] for r in train_records]
    assert [int(p) for b in batches for p in b["pids"]] == [r[1] for r in train_records]
    assert [int(c) for b in batches for c in b["camids"]] == [r[2] for r in train_records]
    assert batches[-1]["images"].shape[0] == (len(train_records) - 1) % 4 + 1


# -- augmentation ------------------------------------------------------------------------------
def test_torchreid_random_erasing_statistics():
    height, width = 64, 32
    fill = (0.485, 0.456, 0.406)
    erased, fractions = 0, []
    for i in range(200):
        out = data.torchreid_random_erasing(tf.fill((height, width, 3), 9.0), tf.constant([1, i], tf.int64)).numpy()
        mask = out[..., 0] != 9.0
        if mask.any():
            erased += 1
            rows, cols = np.where(mask)
            h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
            assert mask.sum() == h * w and h < height and w < width  # one rectangle
            np.testing.assert_allclose(out[mask], np.broadcast_to(fill, (mask.sum(), 3)), rtol=1e-6)
            fractions.append(h * w / (height * width))
    assert 70 <= erased <= 130  # probability 0.5
    assert min(fractions) >= 0.015 and max(fractions) <= 0.45


@pytest.mark.parametrize("erasing", ["torchreid", "keras", None])
def test_augmentation_modes_run_in_tf_data(erasing):
    aug = data.ReIDAugmentation(SIZE, erasing=erasing, seed=0)
    ds = tf.data.Dataset.range(4).map(lambda i: (tf.fill(SIZE + (3,), 200.0), i)).map(aug)
    out = np.stack(list(ds.as_numpy_iterator()))
    assert out.shape == (4,) + SIZE + (3,) and np.isfinite(out).all()
    # pad-and-crop brings in zero pixels; normalisation maps 0 to -mean/std
    assert (np.abs(out - (0 - 0.485) / 0.229) < 1e-4).any() or (out[..., 0] < 0).any()


def test_color_jitter_is_seeded_bounded_and_changes_colour():
    import tensorflow as tf

    from keras_reid.data.augmentation import color_jitter

    rng = np.random.default_rng(0)
    image = tf.constant(rng.uniform(0, 255, size=(16, 8, 3)), tf.float32)
    seed = tf.constant([3, 4], tf.int64)
    a = color_jitter(image, seed, 0.4, 0.0).numpy()
    b = color_jitter(image, seed, 0.4, 0.0).numpy()
    np.testing.assert_array_equal(a, b)  # stateless: the same seed gives the same image
    assert a.min() >= 0 and a.max() <= 255
    assert np.abs(a - image.numpy()).mean() > 1.0
    c = color_jitter(image, tf.constant([3, 5], tf.int64), 0.4, 0.0).numpy()
    assert not np.array_equal(a, c)
    # Strength 0 and no grey: the identity.
    np.testing.assert_array_equal(color_jitter(image, seed, 0.0, 0.0).numpy(), image.numpy())
    grey = color_jitter(image, seed, 0.0, 1.0).numpy()
    assert np.allclose(grey[..., 0], grey[..., 1]) and np.allclose(grey[..., 1], grey[..., 2])
