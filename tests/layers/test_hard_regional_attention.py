import numpy as np
import pytest

from keras_reid.layers.hard_regional_attention import HardRegionalAttention
from tests.test_case import run_layer_test, to_numpy
from tests.layers.torch_parity import assert_matches_torch


def test_layer_kit():
    run_layer_test(HardRegionalAttention, {}, np.random.rand(*(2, 6, 4, 32)).astype("float32"), (2, 4, 2))


def test_parity_with_torch_reference():
    pytest.importorskip("torch")
    from tests.models.hacnn import torch_reference

    x = np.random.rand(*(2, 6, 4, 32)).astype("float32")
    assert_matches_torch(torch_reference.HardAttn(32), HardRegionalAttention(**{}), x)


def test_initial_translations_are_upstream_stripes():
    theta = to_numpy(HardRegionalAttention()(np.random.rand(2, 6, 4, 32).astype("float32")))
    expected = np.tanh(np.array([[0, -0.75], [0, -0.25], [0, 0.25], [0, 0.75]]))
    np.testing.assert_allclose(theta, np.broadcast_to(expected, (2, 4, 2)), atol=1e-6)
