import numpy as np
import pytest

from keras_reid.layers.soft_attention import SoftAttention
from tests.test_case import run_layer_test, to_numpy
from tests.layers.torch_parity import assert_matches_torch


def test_layer_kit():
    run_layer_test(SoftAttention, {}, np.random.rand(*(2, 6, 4, 32)).astype("float32"), (2, 6, 4, 32))


def test_parity_with_torch_reference():
    pytest.importorskip("torch")
    from tests.models.hacnn import torch_reference

    x = np.random.rand(*(2, 6, 4, 32)).astype("float32")
    assert_matches_torch(torch_reference.SoftAttn(32), SoftAttention(**{}), x)


def test_values_in_half_open_unit_interval():
    out = to_numpy(SoftAttention()(np.random.rand(2, 6, 4, 32).astype("float32")))
    assert out.min() >= 0.5 and out.max() < 1.0
