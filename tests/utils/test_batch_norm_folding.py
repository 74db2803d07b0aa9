"""fold_batch_norm: which BatchNorms fold, same outputs, live weights, real architectures."""

import keras
import numpy as np
import pytest

from keras_reid.layers.batch_norm_folded_linear import BatchNormFoldedLinear
from keras_reid.models import build
from keras_reid.utils.batch_norm_folding import fold_batch_norm
from tests.test_case import to_numpy


def randomise_batch_norms(model, rng, spread=1.0):
    """Non-trivial moving statistics, γ and β, so that a wrong fold shows (`spread` < 1
    keeps a deep network's activations in a trained network's range)."""
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0.0, 0.5 * spread, layer.moving_mean.shape))
            layer.moving_variance.assign(np.exp(rng.uniform(-1.0, 0.7, layer.moving_variance.shape) * spread))
            if layer.scale:
                layer.gamma.assign(rng.uniform(1.0 - 0.5 * spread, 1.0 + 0.5 * spread, layer.gamma.shape))
            if layer.center:
                layer.beta.assign(rng.normal(0.0, 0.3 * spread, layer.beta.shape))


def num_folded(model):
    return sum(isinstance(layer, BatchNormFoldedLinear) for layer in model._flatten_layers())


def toy_model():
    layers = keras.layers
    inner_in = keras.Input((8, 8, 6))
    inner = keras.Model(inner_in, layers.BatchNormalization()(layers.Conv2D(6, 1)(inner_in)), name="inner")
    inputs = keras.Input((8, 8, 3))
    x = layers.BatchNormalization()(layers.Conv2D(6, 3, padding="same", use_bias=False)(inputs))  # folds
    x = layers.ReLU()(x)
    x = layers.BatchNormalization(epsilon=1e-5)(layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x))  # folds
    x = layers.BatchNormalization(center=False, scale=False)(layers.Conv2D(6, 1, groups=2)(x))  # folds
    x = inner(x)  # its conv + BN fold inside the nested model
    y = layers.Conv2D(6, 1, activation="relu")(x)
    y = layers.BatchNormalization()(y)  # after an activation: stays
    z = layers.Conv2D(6, 1)(y)
    w = layers.BatchNormalization()(z)  # the conv output is also used below: stays
    w = layers.Add()([w, z])
    v = layers.BatchNormalization(axis=1)(layers.Conv2D(6, 1)(w))  # not the channel axis: stays
    pooled = layers.GlobalAveragePooling2D()(v)
    out = layers.BatchNormalization()(layers.Dense(5)(pooled))  # folds
    return keras.Model(inputs, out)


def test_folds_exactly_the_foldable_pairs_and_keeps_the_outputs():
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)  # fixed weights and data: a rounding-level bound must not depend on the draw
    model = toy_model()
    randomise_batch_norms(model, rng)
    x = rng.normal(size=(4, 8, 8, 3)).astype("float32")
    want = to_numpy(model(x, training=False))
    folded = fold_batch_norm(model)
    assert num_folded(folded) == 5
    np.testing.assert_allclose(to_numpy(folded(x, training=False)), want, rtol=1e-5, atol=1e-5)
    # The source model is untouched, and folding it again finds the same pairs (the
    # folded view's calls of the shared layers are not counted as the source's).
    np.testing.assert_array_equal(to_numpy(model(x, training=False)), want)
    again = fold_batch_norm(model)
    assert num_folded(again) == 5
    np.testing.assert_allclose(to_numpy(again(x)), want, rtol=1e-5, atol=1e-5)


def test_folded_view_follows_the_source_weights():
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)  # fixed weights and data: a rounding-level bound must not depend on the draw
    model = toy_model()
    folded = fold_batch_norm(model)
    randomise_batch_norms(model, rng)  # after folding: e.g. fine-tuning
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Conv2D):
            layer.kernel.assign(rng.normal(size=layer.kernel.shape))
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(to_numpy(folded(x)), to_numpy(model(x, training=False)), rtol=1e-5, atol=1e-4)


def test_rejects_a_subclassed_model():
    class Net(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TypeError, match="functional model"):
        fold_batch_norm(Net())


@pytest.mark.parametrize(
    "arch, expected", [("mobilenetv2", 53), ("osnet_x0_25", 80), ("resnet50", 54), ("hacnn", 2)]
)
def test_real_architectures(arch, expected):
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)  # fixed weights and data: a rounding-level bound must not depend on the draw
    shape = (160, 64, 3) if arch == "hacnn" else (64, 32, 3)  # HA-CNN's regions need its size
    model = build(arch, image_shape=shape)
    network = keras.Model(model.network.input, model.network.output["embedding"])
    randomise_batch_norms(network, rng, spread=0.3)
    x = rng.uniform(-2.0, 2.0, size=(2, *shape)).astype("float32")
    want = to_numpy(network(x, training=False))
    folded = fold_batch_norm(network)
    assert num_folded(folded) == expected
    got = to_numpy(folded(x))
    # Float32 rounding through a deep network: the tolerance of `conversion verify`.
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_feature_extractor_folds_by_default():
    from keras_reid import FeatureExtractor

    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)  # fixed weights and data: a rounding-level bound must not depend on the draw
    model = build("mobilenetv2", image_shape=(64, 32, 3))
    randomise_batch_norms(model, rng)
    images = rng.integers(0, 256, size=(3, 80, 40, 3), dtype=np.uint8)
    fast = FeatureExtractor(model, verbose=False)
    plain = FeatureExtractor(model, verbose=False, fold_batch_norm=False)
    assert num_folded(fast._network) == 53 and num_folded(plain._network) == 0
    np.testing.assert_allclose(fast(images), plain(images), atol=1e-5)


def test_composite_layers_fold_their_conv_blocks_inside_the_view():
    # HA-CNN's Inception blocks hold conv + BN pairs; inside the folded view their
    # BatchNorms must not run at all (folded), outside it they must.
    from keras_reid.layers import InceptionA

    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)  # fixed weights and data: a rounding-level bound must not depend on the draw
    inputs = keras.Input((8, 4, 16))
    block = InceptionA(16)
    model = keras.Model(inputs, block(inputs))
    randomise_batch_norms(model, rng)
    x = rng.normal(size=(2, 8, 4, 16)).astype("float32")
    want = to_numpy(model(x, training=False))
    folded = fold_batch_norm(model)
    bn = block.stream1_0_bn
    original_call = bn.call

    def refuse(*args, **kwargs):
        raise AssertionError("BatchNorm ran inside the folded view")

    bn.call = refuse
    try:
        got = to_numpy(folded(x))
        with pytest.raises(AssertionError, match="BatchNorm ran"):
            model(x, training=False)
    finally:
        bn.call = original_call
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_stra_bottleneck_folds_inside_the_view():
    from keras_reid.layers import StRABottleneck

    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)  # fixed weights and data: a rounding-level bound must not depend on the draw
    inputs = keras.Input((8, 4, 16))
    block = StRABottleneck(16, heads=2, pooling_reduction=4)
    model = keras.Model(inputs, block(inputs)[0])
    randomise_batch_norms(model, rng, spread=0.3)
    x = rng.normal(size=(2, 8, 4, 16)).astype("float32")
    want = to_numpy(model(x, training=False))
    folded = fold_batch_norm(model)
    originals = {bn: bn.call for bn in (block.bn1, block.bn3, block.downsample_bn)}

    def refuse(*args, **kwargs):
        raise AssertionError("BatchNorm ran inside the folded view")

    for bn in originals:
        bn.call = refuse
    try:
        got = to_numpy(folded(x))
    finally:
        for bn, call in originals.items():
            bn.call = call
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
