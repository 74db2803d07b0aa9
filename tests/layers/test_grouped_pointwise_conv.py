import keras
import numpy as np

from keras_reid.layers import GroupedPointwiseConv
from tests.layers import stra_reference as ref
from tests.test_case import run_layer_test, to_numpy


def test_layer_kit():
    run_layer_test(
        GroupedPointwiseConv,
        {"filters": 16, "groups": 4},
        np.random.rand(2, 3, 3, 8).astype("float32"),
        expected_output_shape=(2, 3, 3, 16),
        expected_num_trainable_weights=2,
    )


def test_matches_pytorch_grouping():
    rng = np.random.default_rng()
    x = rng.normal(size=(2, 24, 3, 5)).astype("float32")
    w = rng.normal(size=(12, 6, 1, 1)).astype("float32")
    b = rng.normal(size=12).astype("float32")
    layer = GroupedPointwiseConv(12, groups=4)
    layer.build((None, 3, 5, 24))
    layer.set_weights([ref.hwio(w), b])
    ours = to_numpy(layer(np.transpose(x, (0, 2, 3, 1))))
    expected = np.transpose(ref.grouped_conv1x1(x, w, b, 4), (0, 2, 3, 1))
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_same_layout_as_keras_grouped_conv():
    """Our kernel layout is Keras Conv2D's (1, 1, in/groups, out) with the same grouping."""
    x = np.random.rand(1, 2, 2, 8).astype("float32")
    ours = GroupedPointwiseConv(4, groups=2, use_bias=False)
    ours.build(x.shape)
    conv = keras.layers.Conv2D(4, 1, groups=2, use_bias=False)
    conv.build(x.shape)
    conv.set_weights(ours.get_weights())
    if keras.backend.backend() != "tensorflow":  # TF CPU lacks grouped convs (issue #29005)
        np.testing.assert_allclose(to_numpy(ours(x)), to_numpy(conv(x)), atol=1e-6)
    assert ours.kernel.shape == conv.kernel.shape
