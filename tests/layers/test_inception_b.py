import numpy as np
import pytest

from keras_reid.layers.inception_b import InceptionB
from tests.test_case import run_layer_test
from tests.layers.torch_parity import assert_matches_torch


def test_layer_kit():
    run_layer_test(InceptionB, {"filters": 16}, np.random.rand(*(2, 6, 5, 8)).astype("float32"), (2, 3, 3, 16))


def test_parity_with_torch_reference():
    pytest.importorskip("torch")
    from tests.models.hacnn import torch_reference

    x = np.random.rand(*(2, 6, 5, 8)).astype("float32")
    assert_matches_torch(torch_reference.InceptionB(8, 16), InceptionB(**{"filters": 16}), x)
