import numpy as np
import pytest

from keras_reid.layers.harmonious_spatial_attention import HarmoniousSpatialAttention
from tests.test_case import run_layer_test
from tests.layers.torch_parity import assert_matches_torch


def test_layer_kit():
    run_layer_test(HarmoniousSpatialAttention, {}, np.random.rand(*(2, 6, 4, 8)).astype("float32"), (2, 6, 4, 1))


def test_parity_with_torch_reference():
    pytest.importorskip("torch")
    from tests.models.hacnn import torch_reference

    x = np.random.rand(*(2, 6, 4, 8)).astype("float32")
    assert_matches_torch(torch_reference.SpatialAttn(), HarmoniousSpatialAttention(**{}), x)
