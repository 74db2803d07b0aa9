"""`ReIDModel.predict` runs the BatchNorm-folded network: same values, follows training."""

import keras
import numpy as np
import pytest

import keras_reid
from tests.test_case import to_numpy


def _model():
    keras.utils.set_random_seed(0)
    model = keras_reid.build("mobilenetv2", num_classes=3, image_shape=(64, 32, 3))
    rng = np.random.default_rng(0)
    for layer in model.network._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0.0, 0.2, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape))
    return model


def test_predict_uses_the_folded_network_and_model_call_does_not():
    model = _model()
    x = np.random.default_rng(1).normal(size=(6, 64, 32, 3)).astype("float32")
    want = to_numpy(model(x))
    num_weights = len(model.weights)
    bn = model.network.get_layer("features_4_project_bn")
    original = bn.call

    def refuse(*args, **kwargs):
        raise AssertionError("plain BatchNorm ran")

    bn.call = refuse
    try:
        predicted = model.predict(x, batch_size=4, verbose=0)
        on_batch = to_numpy(model.predict_on_batch(x))
        with pytest.raises(AssertionError, match="plain BatchNorm ran"):
            model(x)
    finally:
        bn.call = original
    np.testing.assert_allclose(predicted, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(on_batch, want, rtol=1e-5, atol=1e-5)
    # The folded view is not part of the model: same weights, same saved file.
    assert len(model.weights) == num_weights


def test_predict_follows_training_and_save(tmp_path):
    model = _model()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 64, 32, 3)).astype("float32")
    before = model.predict(x, verbose=0)
    # A moderate step: SGD(0.1) on random data can blow the weights up until the unchanged
    # BN statistics no longer fit them, and then float32 rounding alone reaches 1e-4.
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    model.fit(x, rng.integers(0, 3, 8), epochs=1, batch_size=4, verbose=0)
    after = model.predict(x, verbose=0)
    assert np.abs(after - before).max() > 1e-3  # the weights (and BN statistics) moved
    np.testing.assert_allclose(after, to_numpy(model(x)), rtol=1e-5, atol=1e-5)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(x, verbose=0), after, rtol=1e-5, atol=1e-5)
