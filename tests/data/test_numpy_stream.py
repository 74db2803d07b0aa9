"""The TensorFlow-free training stream (`keras_reid.data.numpy_stream`) against the `tf.data` one."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from keras_reid.data import ImageRecord
from keras_reid.data.numpy_stream import adjust_hue, color_jitter, numpy_train_dataset, random_erasing
from keras_reid.presets.preprocessor import ReIDPreprocessor
from keras_reid.training.recipes import Recipe
from keras_reid.utils.images import resize_image
from tests.data.synthetic import write_image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = (32, 16)
PLAIN = dict(flip=False, crop_pad=0, random_erasing=False)


def _recipe(**changes):
    base = dict(name="t", architecture="t", image_size=SIZE, batch_size=8, sampler="identity", num_instances=2, crop_pad=4)
    base.update(changes)
    return Recipe(**base)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """6 identities × 4 noisy images of varied sizes (the resize is exercised up and down)."""
    folder = tmp_path_factory.mktemp("numpy_stream")
    out = []
    for pid in range(6):
        for k in range(4):
            size = (24 + 7 * k + pid, 12 + 3 * k)
            out.append(ImageRecord(write_image(str(folder / f"{pid}_{k}.png"), size=size, seed=10 * pid + k), pid, k % 2))
    return out


def _numpy_batches(records, recipe, seed, steps, first, last, **kw):
    ds = numpy_train_dataset(records, recipe, ReIDPreprocessor(SIZE), seed, steps, first, last, **kw)
    try:
        return [ds[i] for i in range(len(ds))]
    finally:
        ds.close()


def _tf_batches(records, recipe, seed, steps, first, last):
    pytest.importorskip("tensorflow")
    from keras_reid.data.training_stream import train_dataset

    return list(train_dataset(records, recipe, ReIDPreprocessor(SIZE), seed, steps, first, last).as_numpy_iterator())


def test_same_labels_batch_for_batch_as_tf_data(records):
    for recipe in (_recipe(), _recipe(sampler="random")):
        tf_batches = _tf_batches(records, recipe, 4, 3, 0, 2)
        np_batches = _numpy_batches(records, recipe, 4, 3, 0, 2)
        assert len(tf_batches) == len(np_batches) == 6
        for (_, tf_labels), (images, labels) in zip(tf_batches, np_batches):
            assert images.shape == (8,) + SIZE + (3,) and images.dtype == np.float32 and labels.dtype == np.int32
            np.testing.assert_array_equal(labels, tf_labels)


def test_images_equal_tf_data_without_augmentation(records):
    recipe = _recipe(**PLAIN)
    tf_batches = _tf_batches(records, recipe, 1, 3, 0, 1)
    np_batches = _numpy_batches(records, recipe, 1, 3, 0, 1)
    for (tf_images, _), (images, _) in zip(tf_batches, np_batches):
        # resize_image runs TensorFlow's bilinear kernel arithmetic: measured difference 0.
        np.testing.assert_allclose(images, tf_images, rtol=0, atol=1e-6)


def test_resize_image_matches_tf_image_resize():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng()
    shapes = [tuple(rng.integers(5, 90, 2)) for _ in range(8)] + [(323, 91), (160, 64)]  # real crop sizes too
    for shape in shapes:
        image = rng.integers(0, 256, size=tuple(shape) + (3,), dtype=np.uint8)
        for size in [tuple(int(s) for s in rng.integers(3, 90, 2)), (128, 64), (256, 128)]:
            for method in ("bilinear", "nearest"):
                expected = tf.image.resize(tf.cast(image, tf.float32), size, method=method, antialias=False).numpy()
                # Bit for bit: the extractor and the input stream may use either.
                np.testing.assert_array_equal(resize_image(image, size, method), expected, err_msg=f"{method} {shape}->{size}")
                np.testing.assert_array_equal(resize_image(image.astype(np.float32), size, method), expected)


def test_deterministic_and_resumable(records):
    recipe = _recipe(color_jitter=0.3, random_grayscale=0.2)
    straight = _numpy_batches(records, recipe, 7, 2, 0, 3)
    resumed = _numpy_batches(records, recipe, 7, 2, 1, 3, workers=0)  # inline decoding: same batches
    assert len(straight) == 6 and len(resumed) == 4
    for (xa, ya), (xb, yb) in zip(straight[2:], resumed):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa, xb)
    other = _numpy_batches(records, recipe, 8, 2, 0, 1)
    assert not np.array_equal(other[0][0], straight[0][0])
    # Re-reading an earlier batch (Keras does, after fit's first peek) gives it again.
    ds = numpy_train_dataset(records, recipe, ReIDPreprocessor(SIZE), 7, 2, 0, 3, workers=2)
    try:
        first, later, again = ds[0], ds[3], ds[0]
        np.testing.assert_array_equal(first[0], again[0])
        np.testing.assert_array_equal(later[0], straight[3][0])
    finally:
        ds.close()


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """A 32×16 image, left half red, right half white: flips, crops and grey are readable from it."""
    arr = np.zeros(SIZE + (3,), np.uint8)
    arr[:, : SIZE[1] // 2, 0] = 255
    arr[:, SIZE[1] // 2 :] = 255
    path = str(tmp_path_factory.mktemp("halves") / "halves.png")
    Image.fromarray(arr).save(path)
    return [ImageRecord(path, 0, 0), ImageRecord(path, 1, 0)]


def _samples(records, recipe, n=400):
    ds = numpy_train_dataset(records, recipe, ReIDPreprocessor(SIZE), 0, 1, 0, 1, workers=0)
    return [ds.sample(0, s) * np.asarray(ds.std) + np.asarray(ds.mean) for s in range(n)]  # back to 0-1


def test_flip_and_crop_statistics(halves):
    flipped = [img[0, 0, 1] > 0.5 for img in _samples(halves, _recipe(sampler="random", batch_size=2, **dict(PLAIN, flip=True)))]
    assert 0.42 <= np.mean(flipped) <= 0.58  # p 0.5
    pad, offsets = 4, []
    for img in _samples(halves, _recipe(sampler="random", batch_size=2, crop_pad=pad, flip=False, random_erasing=False)):
        # Rows of the image (not of the zero padding) hold white pixels; the padding rows
        # above (offset < pad) or below (offset > pad) give the vertical crop offset.
        rows = (img[:, :, 1] > 0.5).any(axis=1)
        above, below = rows.argmax(), rows[::-1].argmax()
        offsets.append(pad - above if above else pad + below)
    assert set(offsets) == set(range(2 * pad + 1))  # uniform over 0..2·pad
    assert abs(np.mean(offsets) - pad) < 0.5


def test_erasing_and_grey_statistics(halves):
    recipe = _recipe(sampler="random", batch_size=2, flip=False, crop_pad=0, random_erasing=True, erase_area=(0.02, 0.4))
    mean = np.asarray(ReIDPreprocessor(SIZE).mean, np.float32)
    ds = numpy_train_dataset(halves, recipe, ReIDPreprocessor(SIZE), 0, 1, 0, 1, workers=0)
    erased, fractions = 0, []
    for s in range(400):
        mask = np.all(ds.sample(0, s) == mean, axis=-1)  # torchreid fills with the mean values
        if mask.any():
            erased += 1
            rows, cols = np.where(mask)
            assert mask.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # one rectangle
            fractions.append(mask.mean())
    assert 0.42 <= erased / 400 <= 0.58  # p 0.5
    assert min(fractions) >= 0.015 and max(fractions) <= 0.45
    grey = [np.ptp(img, axis=-1).max() < 1e-5 for img in _samples(halves, _recipe(sampler="random", batch_size=2, random_grayscale=0.3, **PLAIN))]
    assert 0.22 <= np.mean(grey) <= 0.38


def test_colour_jitter_and_erasing_equal_tf_on_the_same_draws():
    """The NumPy ports compute what the tf.data ops compute once given the same uniforms."""
    tf = pytest.importorskip("tensorflow")
    from keras_reid.data.augmentation import color_jitter as tf_color_jitter
    from keras_reid.data.augmentation import torchreid_random_erasing

    rng = np.random.default_rng()
    image = rng.uniform(0, 255, size=(16, 8, 3)).astype(np.float32)
    image[0, :3] = [[10, 10, 10], [200, 50, 50], [50, 200, 200]]  # ties between channels
    for i in range(5):
        seed = tf.constant([i, 3], tf.int64)
        seeds = tf.random.experimental.stateless_split(seed, 5)
        draws = [float(tf.random.stateless_uniform([], seeds[k])) for k in range(5)]
        expected = tf_color_jitter(tf.constant(image), seed, 0.4, 0.5).numpy()
        np.testing.assert_allclose(color_jitter(image, draws, 0.4, 0.5), expected, rtol=0, atol=1e-3)
        u = [tf.random.stateless_uniform(shape, seeds[k]).numpy() for k, shape in enumerate([[], [100], [100], [], []])]
        expected = torchreid_random_erasing(tf.constant(image), seed, 0.5, (0.02, 0.4), 0.3).numpy()
        np.testing.assert_array_equal(random_erasing(image, [u[0], u[3], u[4]], u[1], u[2]), expected)
    for delta in np.linspace(-0.5, 0.5, 11):
        unit = image / np.float32(255)
        np.testing.assert_allclose(adjust_hue(unit, delta), tf.image.adjust_hue(unit, delta).numpy(), rtol=0, atol=1e-6)


def test_bad_image_names_the_file(tmp_path):
    bad = str(tmp_path / "broken.jpg")
    with open(bad, "wb") as f:
        f.write(b"not an image")
    ds = numpy_train_dataset([ImageRecord(bad, 0, 0)] * 8, _recipe(sampler="random"), ReIDPreprocessor(SIZE), 0, 1, 0, 1)
    try:
        with pytest.raises(ValueError, match="broken.jpg"):
            ds[0]
    finally:
        ds.close()


_NO_TF_CHILD = textwrap.dedent(
    """
    import sys
    sys.modules["tensorflow"] = None  # as on a machine without TensorFlow
    sys.path.insert(0, {repo!r})
    import os
    import keras_reid
    from keras_reid.training import train
    from keras_reid.training.trainer import TrainingConfigError
    from tests.training.helpers import make_folder_dataset, tiny_recipe

    root = make_folder_dataset(os.path.join({tmp!r}, "data"))
    out = os.path.join({tmp!r}, "run")
    recipe = tiny_recipe(epochs=1, fixbase_epochs=0, open_layers=())
    try:
        train(recipe, root, out, input_pipeline="tf_data", verbose=0)
    except TrainingConfigError as e:
        print("TF_DATA_REFUSED", str(e).splitlines()[0])
    result = train(recipe, root, out, max_steps_per_epoch=2, verbose=0)
    assert sys.modules["tensorflow"] is None
    meta = keras_reid.load(result["preset"]).preset_metadata
    print("NO_TF_OK", result["epochs"], result["metrics"]["mAP"], meta["training"]["input_pipeline"], flush=True)
    """
)


def test_training_runs_without_tensorflow(tmp_path):
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", _NO_TF_CHILD.format(repo=REPO, tmp=str(tmp_path))],
        capture_output=True, env=env, text=True, timeout=300,
    )
    assert "TF_DATA_REFUSED" in done.stdout and "needs TensorFlow" in done.stdout, done.stdout + done.stderr[-3000:]
    assert "NO_TF_OK 1" in done.stdout and done.stdout.strip().endswith("numpy"), done.stdout + done.stderr[-3000:]
    assert os.path.isdir(tmp_path / "run" / "checkpoints" / "ckpt-0001")
