import numpy as np
import pytest

from keras_reid.layers import LocalAttention
from tests.layers import stra_reference as ref
from tests.test_case import run_layer_test, to_numpy


def test_layer_kit():
    x = np.random.rand(2, 6, 4, 32).astype("float32")
    run_layer_test(
        LocalAttention,
        {"filters": 32, "heads": 8},
        x,
        expected_output_shape=(2, 6, 4, 32),
        expected_num_trainable_weights=9,  # 2 convs × (kernel, bias), 2 BN × 2, value kernel
    )


@pytest.mark.parametrize("channels,height,width", [(512, 8, 4), (64, 5, 3)])
def test_matches_numpy_reference(channels, height, width):
    seed = np.random.SeedSequence().entropy
    rng = np.random.default_rng(seed)
    x_nchw = rng.normal(size=(2, channels, height, width)).astype("float32")
    params = ref.random_local_attn_params(rng, channels, channels)
    layer = LocalAttention(channels, heads=8)
    layer.build((None, height, width, channels))
    ref.set_local_attention(layer, params)
    ours = to_numpy(layer(np.transpose(x_nchw, (0, 2, 3, 1)), training=False))
    expected = np.transpose(ref.local_attn(x_nchw.astype("float64"), params), (0, 2, 3, 1))
    np.testing.assert_allclose(ours, expected, atol=1e-5, err_msg=f"seed={seed}")


def test_border_slots_keep_softmax_mass():
    """A zero value map outside the image: a corner output is smaller than a centre one."""
    layer = LocalAttention(64, heads=8)
    x = np.ones((1, 5, 5, 64), "float32")
    layer.build(x.shape)
    # Identity value projection, zero mask logits: uniform attention over the 9 slots.
    identity = np.zeros((1, 1, 8, 64), "float32")
    identity[0, 0, np.arange(64) % 8, np.arange(64)] = 1.0
    layer.value_conv.set_weights([identity])
    for conv in (layer.mask_conv1, layer.mask_conv2):
        conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    out = to_numpy(layer(x, training=False))
    np.testing.assert_allclose(out[0, 2, 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[0, 0, 0], 4.0 / 9.0, atol=1e-6)  # 4 of 9 slots inside


def test_rejects_even_kernel():
    with pytest.raises(ValueError, match="odd"):
        LocalAttention(8, kernel_size=2)
