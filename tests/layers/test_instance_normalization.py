import keras
import numpy as np
import pytest

from keras_reid.layers import InstanceNormalization
from tests.test_case import run_layer_test, to_numpy


def test_layer_kit():
    x = np.random.rand(2, 6, 4, 5).astype("float32")
    run_layer_test(InstanceNormalization, {}, x, (2, 6, 4, 5), expected_num_trainable_weights=2)


def test_matches_numpy_and_group_normalization():
    rng = np.random.default_rng()
    # Feature maps at trained-network scales: per-channel offsets and spreads.
    x = (rng.normal(size=(3, 7, 5, 6)) * rng.uniform(0.1, 4, 6) + rng.normal(0, 2, 6)).astype("float32")
    layer = InstanceNormalization(epsilon=1e-5)
    layer.build(x.shape)
    gamma, beta = rng.normal(size=6).astype("float32"), rng.normal(size=6).astype("float32")
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=(1, 2), keepdims=True)
    var = x64.var(axis=(1, 2), keepdims=True)
    expected = (x64 - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=2e-5, rtol=1e-5)
    # The same computation as Keras' GroupNormalization with one group per channel.
    group = keras.layers.GroupNormalization(groups=6, epsilon=1e-5)
    group.build(x.shape)
    group.set_weights([gamma, beta])
    np.testing.assert_allclose(to_numpy(layer(x)), to_numpy(group(x)), atol=2e-5)


def test_matches_torch_instance_norm():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng()
    x = rng.normal(1.5, 3.0, size=(2, 9, 4, 8)).astype("float32")
    ref = torch.nn.InstanceNorm2d(8, affine=True, eps=1e-5)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(rng.normal(size=8).astype("float32")))
        ref.bias.copy_(torch.from_numpy(rng.normal(size=8).astype("float32")))
        expected = ref(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    layer = InstanceNormalization()
    layer.build(x.shape)
    layer.gamma.assign(ref.weight.detach().numpy())
    layer.beta.assign(ref.bias.detach().numpy())
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=3e-5)


def test_float16_input_keeps_statistics_in_float32():
    x = (np.random.rand(2, 16, 8, 4) * 300 + 5000).astype("float16")  # large offset: fp16 sums overflow
    y = to_numpy(InstanceNormalization(dtype="mixed_float16")(x))
    assert y.dtype == np.float16 and np.isfinite(y).all()
    assert np.abs(y.astype(np.float32).mean(axis=(1, 2))).max() < 0.05
