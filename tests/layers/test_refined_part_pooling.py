import numpy as np
import pytest

from keras_reid.layers.refined_part_pooling import RefinedPartPooling
from tests.test_case import run_layer_test, to_numpy


def rpp_reference(x, kernel, bias, mode, num_parts, mask_channels):
    """Official resnet_rpp.py forward (eval: no dropout) or the paper's linear classifier."""
    b, h, w, c = x.shape
    x = x.astype(np.float64)
    if mode == "upstream":
        y = x.reshape(b, h, w, mask_channels, c // mask_channels).mean(-1)  # 8 adjacent channels
        y = y - y.mean(axis=(1, 2), keepdims=True)
        logits = y @ kernel[0, 0] + bias
    else:
        logits = x @ kernel[0, 0]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)  # softmax over the parts
    xs = num_parts * x  # x = 6 * x; f_i = mean_p(x * w_i)
    return np.einsum("bhwp,bhwc->bpc", p, xs) / (h * w)


def test_layer_kit():
    x = np.random.rand(2, 6, 2, 32).astype("float32")
    run_layer_test(
        RefinedPartPooling,
        {"num_parts": 6, "mask_channels": 4},
        x,
        (2, 6, 32),
        expected_num_trainable_weights=2,
    )


@pytest.mark.parametrize("mode", ["upstream", "paper"])
def test_parity_with_numpy_reference(mode):
    rng = np.random.default_rng()
    x = rng.random((2, 6, 3, 16)).astype("float32")
    layer = RefinedPartPooling(num_parts=6, mode=mode, mask_channels=4)
    layer.build(x.shape)
    kernel = rng.normal(size=tuple(layer.kernel.shape)).astype("float32")
    layer.kernel.assign(kernel)
    bias = np.zeros(6, "float32")
    if mode == "upstream":
        bias = rng.normal(size=6).astype("float32")
        layer.bias.assign(bias)
    expected = rpp_reference(x, kernel, bias, mode, 6, 4)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5, rtol=1e-5)
