import keras
import numpy as np
import pytest

from keras_reid.layers.image_preprocessing import ImagePreprocessing
from keras_reid.presets.preprocessor import ReIDPreprocessor
from tests.test_case import run_layer_test, run_serialization_test, to_numpy


def test_layer_kit():
    x = np.random.default_rng(0).uniform(0, 255, (2, 40, 20, 3)).astype("float32")
    run_layer_test(ImagePreprocessing, {"image_size": (32, 16)}, x, (2, 32, 16, 3), expected_num_trainable_weights=0,
                   run_training_check=False, run_mixed_precision_check=False)


@pytest.mark.parametrize("shape", [(3, 300, 97, 3), (2, 32, 16, 3), (1, 10, 6, 3)])
def test_matches_the_preset_preprocessor(shape):
    """Down-, same- and up-sized uint8 batches: what `ReIDPreprocessor` (tf.image.resize +
    NumPy normalisation, the FeatureExtractor path) computes, on every backend."""
    images = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    pre = ReIDPreprocessor((32, 16), mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    layer = ImagePreprocessing.from_preprocessor(pre)
    got = to_numpy(layer(images))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, pre(images), atol=1e-5, rtol=0)
    # float 0-255 input (what image_dataset_from_directory yields) gives the same.
    np.testing.assert_allclose(to_numpy(layer(images.astype("float32"))), got, atol=0)


def test_same_size_is_not_resized():
    images = np.random.default_rng(2).integers(0, 256, (2, 32, 16, 3), dtype=np.uint8)
    got = to_numpy(ImagePreprocessing((32, 16), mean=(0, 0, 0), std=(1, 1, 1))(images))
    # Not resized: each pixel is its own value / 255 (to rounding: XLA may multiply by 1/255).
    np.testing.assert_allclose(got, images.astype("float32") / 255.0, atol=1e-7, rtol=0)


def test_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = ImagePreprocessing((8, 4))
    out = layer(np.full((1, 16, 8, 3), 200, "uint8"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


def test_config_round_trip_and_bad_arguments():
    layer = ImagePreprocessing((64, 32), mean=(0.1, 0.2, 0.3), std=(0.4, 0.5, 0.6), interpolation="nearest")
    revived = run_serialization_test(layer)
    assert revived.image_size == (64, 32) and revived.mean == (0.1, 0.2, 0.3) and revived.interpolation == "nearest"
    with pytest.raises(ValueError, match="interpolation"):
        ImagePreprocessing(interpolation="gaussian")
    with pytest.raises(ValueError, match="std must be positive"):
        ImagePreprocessing(std=(0.2, 0.0, 0.2))
    with pytest.raises(ValueError, match="image_size"):
        ImagePreprocessing(image_size=(0, 4))
    with pytest.raises(ValueError, match="RGB"):
        ImagePreprocessing((8, 4))(np.zeros((1, 8, 4, 1), "float32"))
