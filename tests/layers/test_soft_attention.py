import numpy as np
import pytest

from keras_reid.layers.soft_attention import SoftAttention
from tests.test_case import run_layer_test, to_numpy
from tests.models.hacnn.test_hacnn import copy_module_weights


def test_layer_kit():
    run_layer_test(SoftAttention, {}, np.random.rand(*(2, 6, 4, 32)).astype("float32"), (2, 6, 4, 32))


def test_parity_with_torch_reference():
    torch = pytest.importorskip("torch")
    from tests.models.hacnn import torch_reference

    module = torch_reference.SoftAttn(32)
    x = np.random.rand(*(2, 6, 4, 32)).astype("float32")
    layer = SoftAttention(**{})
    layer(x)
    copy_module_weights(module, layer)
    module.eval()
    with torch.no_grad():
        expected = module(torch.tensor(x.transpose(0, 3, 1, 2)))
    expected = expected[0] if isinstance(expected, tuple) else expected
    expected = expected.numpy()
    if expected.ndim == 4:
        expected = expected.transpose(0, 2, 3, 1)
    actual = layer(x)
    actual = to_numpy(actual[0] if isinstance(actual, tuple) else actual)
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_values_in_half_open_unit_interval():
    out = to_numpy(SoftAttention()(np.random.rand(2, 6, 4, 32).astype("float32")))
    assert out.min() >= 0.5 and out.max() < 1.0
