import numpy as np
import pytest

from keras_reid.layers.self_attention import SelfAttention
from tests.test_case import run_layer_test, to_numpy


def self_attention_reference(x, kq, kk, kv, alpha):
    """Paper Eq. 1–2 (non-local block) with the alpha residual, in float64."""
    b, h, w, c = x.shape
    i = x.reshape(b, h * w, c).astype(np.float64)
    q, k, v = i @ kq[0, 0], i @ kk[0, 0], i @ kv[0, 0]
    logits = np.einsum("bic,bjc->bij", q, k)
    logits -= logits.max(axis=-1, keepdims=True)
    f = np.exp(logits)
    f /= f.sum(axis=-1, keepdims=True)  # softmax over j (all positions)
    return (alpha * f @ v + i).reshape(b, h, w, c)


def test_layer_kit():
    x = np.random.rand(2, 6, 4, 16).astype("float32")
    run_layer_test(SelfAttention, {}, x, (2, 6, 4, 16), expected_num_trainable_weights=4)


@pytest.mark.parametrize("key_channels", [None, 3])
def test_parity_with_numpy_reference(key_channels):
    rng = np.random.default_rng()
    x = rng.normal(size=(2, 5, 3, 16)).astype("float32")
    layer = SelfAttention(key_channels=key_channels)
    layer.build(x.shape)
    kernels = []
    for conv in (layer.conv_q, layer.conv_k, layer.conv_v):
        kernel = (rng.normal(size=tuple(conv.kernel.shape)) * 0.3).astype("float32")
        conv.kernel.assign(kernel)
        kernels.append(kernel)
    alpha = float(rng.uniform(0.5, 2.0))
    layer.alpha.assign(alpha)
    assert kernels[0].shape[-1] == (key_channels or 2)
    expected = self_attention_reference(x, *kernels, alpha)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5, rtol=1e-5)


def test_alpha_zero_is_identity():
    x = np.random.normal(size=(2, 4, 3, 8)).astype("float32")
    np.testing.assert_array_equal(to_numpy(SelfAttention()(x)), x)
