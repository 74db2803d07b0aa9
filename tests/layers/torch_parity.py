"""Parity of a Keras layer with its PyTorch reference module (test-only helper)."""

import numpy as np
import pytest

from tests.test_case import to_numpy


def assert_matches_torch(torch_module, layer, x, atol=1e-5, randomize=True):
    """Copies `torch_module`'s weights (random non-trivial BN statistics) into `layer`
    and checks both compute the same first output on NHWC `x` (eval mode)."""
    torch = pytest.importorskip("torch")
    from tests.models.hacnn.test_hacnn import copy_module_weights, randomize_torch

    if randomize:
        randomize_torch(torch_module, seed=int(np.random.default_rng().integers(1 << 30)))
    layer(x)
    copy_module_weights(torch_module, layer)
    torch_module.eval()
    with torch.no_grad():
        expected = torch_module(torch.tensor(x.transpose(0, 3, 1, 2)))
    expected = (expected[0] if isinstance(expected, tuple) else expected).numpy()
    if expected.ndim == 4:
        expected = expected.transpose(0, 2, 3, 1)
    actual = layer(x)
    actual = to_numpy(actual[0] if isinstance(actual, tuple) else actual)
    np.testing.assert_allclose(actual, expected, atol=atol)
