import numpy as np
import pytest

from keras_reid.layers.spatial_attention import SpatialAttention
from tests.test_case import run_layer_test, to_numpy


def spatial_attention_reference(x, mode):
    b, h, w, c = x.shape
    x = x.astype(np.float64)
    if mode == "paper":  # SA-PCB paper §3.2: softmax over H·W of the channel sum
        s = x.sum(axis=-1).reshape(b, h * w)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
    else:  # upstream SpatialAttn: channel mean, L1-normalised over positions
        m = x.mean(axis=-1).reshape(b, h * w)
        a = m / m.sum(axis=1, keepdims=True)
    return x * a.reshape(b, h, w, 1)


@pytest.mark.parametrize("mode", ["paper", "upstream"])
def test_layer_kit(mode):
    x = np.random.rand(2, 6, 4, 8).astype("float32")
    run_layer_test(
        SpatialAttention,
        {"mode": mode},
        x,
        (2, 6, 4, 8),
        expected_num_trainable_weights=0,
        run_training_check=False,  # no weights to train
    )


@pytest.mark.parametrize("mode", ["paper", "upstream"])
def test_parity_with_numpy_reference(mode):
    x = np.random.rand(3, 7, 5, 6).astype("float32")  # post-ReLU-like, non-negative
    layer = SpatialAttention(mode=mode)
    np.testing.assert_allclose(to_numpy(layer(x)), spatial_attention_reference(x, mode), atol=1e-5, rtol=1e-5)
    weights = to_numpy(layer.attention_map(x))
    np.testing.assert_allclose(weights.sum(axis=(1, 2, 3)), 1.0, atol=1e-5)


def test_upstream_branch_keeps_the_one_over_hw_factor():
    # Upstream DS branch: avg_pool2d(F * A) = (1 / HW) * sum_p A(p) F(p).
    x = np.random.rand(2, 4, 3, 5).astype("float32")
    out = to_numpy(SpatialAttention(mode="upstream")(x)).mean(axis=(1, 2))
    m = x.mean(axis=-1)
    a = m / m.sum(axis=(1, 2), keepdims=True)
    expected = (a[..., None] * x).sum(axis=(1, 2)) / 12.0
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_modes_and_aliases():
    assert SpatialAttention(mode="softmax").mode == "paper"
    assert SpatialAttention(mode="l1").mode == "upstream"
    assert SpatialAttention().mode == "upstream"
    with pytest.raises(ValueError):
        SpatialAttention(mode="sigmoid")
