"""BatchNormFoldedLinear equals the linear layer followed by its BatchNorm, in inference."""

import keras
import numpy as np
import pytest

from keras_reid.layers.batch_norm_folded_linear import BatchNormFoldedLinear
from tests.test_case import to_numpy


def _pair(linear, input_shape, rng, **bn_kwargs):
    bn = keras.layers.BatchNormalization(**bn_kwargs)
    x = rng.normal(size=input_shape).astype("float32")
    bn(linear(x))  # build both
    for name in ("moving_mean", "gamma", "beta"):
        variable = getattr(bn, name)
        if variable is not None:
            variable.assign(rng.normal(0.0, 0.5, variable.shape) + (1.0 if name == "gamma" else 0.0))
    bn.moving_variance.assign(rng.uniform(0.3, 2.0, bn.moving_variance.shape))
    return bn, x


@pytest.mark.parametrize(
    "make, input_shape, bn_kwargs",
    [
        (lambda: keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False), (2, 9, 7, 4), {}),
        (lambda: keras.layers.Conv2D(8, 3, dilation_rate=2, groups=2), (2, 9, 7, 4), {"epsilon": 1e-5}),
        (lambda: keras.layers.DepthwiseConv2D(3, depth_multiplier=3, padding="same"), (2, 6, 5, 4), {}),
        (lambda: keras.layers.Dense(6), (3, 10), {"center": False}),
        (lambda: keras.layers.Dense(6, use_bias=False), (3, 10), {"scale": False}),
    ],
)
def test_equals_linear_then_batch_norm(make, input_shape, bn_kwargs):
    rng = np.random.default_rng()
    linear = make()
    bn, x = _pair(linear, input_shape, rng, **bn_kwargs)
    want = to_numpy(bn(linear(x), training=False))
    layer = BatchNormFoldedLinear(linear, bn)
    np.testing.assert_allclose(to_numpy(layer(x)), want, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape(input_shape) == tuple(want.shape)
    assert layer.name == linear.name


def test_mixed_precision():
    rng = np.random.default_rng()
    linear = keras.layers.Conv2D(8, 3, dtype="mixed_float16")
    bn, x = _pair(linear, (2, 8, 8, 4), rng, dtype="mixed_float16")
    want = to_numpy(keras.ops.cast(bn(linear(x), training=False), "float32"))
    got = BatchNormFoldedLinear(linear, bn)(x)
    assert keras.backend.standardize_dtype(got.dtype) == "float16"
    np.testing.assert_allclose(to_numpy(keras.ops.cast(got, "float32")), want, rtol=1e-2, atol=1e-2)


def test_refuses_what_cannot_fold():
    bn = keras.layers.BatchNormalization()
    with pytest.raises(ValueError, match="activation"):
        BatchNormFoldedLinear(keras.layers.Conv2D(4, 1, activation="relu"), bn)
    with pytest.raises(TypeError, match="Conv1D"):
        BatchNormFoldedLinear(keras.layers.Conv1D(4, 1), bn)
