import numpy as np
import pytest

from keras_reid.layers import ModeAttention
from tests.layers import stra_reference as ref
from tests.test_case import run_layer_test, to_numpy


def test_layer_kit():
    x = np.random.rand(2, 6, 4, 64).astype("float32")
    run_layer_test(
        ModeAttention,
        {"heads": 8},
        x,
        expected_output_shape=[(2, 6, 4, 64), (2,)],
        expected_num_trainable_weights=12,
    )


@pytest.mark.parametrize("gating", ["sigmoid", "softmax"])
@pytest.mark.parametrize("channels", [512, 128])
def test_matches_numpy_reference(gating, channels):
    seed = np.random.SeedSequence().entropy
    rng = np.random.default_rng(seed)
    x_nchw = rng.normal(size=(2, channels, 8, 4)).astype("float32")
    params = ref.random_moe_params(rng, channels)
    layer = ModeAttention(heads=8, gating=gating)
    layer.build((None, 8, 4, channels))
    ref.set_mode_attention(layer, params)
    out, div = layer(np.transpose(x_nchw, (0, 2, 3, 1)), training=False)
    exp_out, exp_div = ref.moe(x_nchw.astype("float64"), params, gating=gating)
    np.testing.assert_allclose(to_numpy(out), np.transpose(exp_out, (0, 2, 3, 1)), atol=1e-5, err_msg=f"seed={seed}")
    np.testing.assert_allclose(to_numpy(div), exp_div, atol=1e-5, err_msg=f"seed={seed}")


def test_diversity_bounds():
    """L_d = G − Σ_p max_g α_g(p): G−1 when all heads pool identically, 0 for disjoint one-hot maps."""
    layer = ModeAttention(heads=8)
    x = np.random.rand(1, 4, 4, 64).astype("float32")
    layer.build(x.shape)
    # Zero pooling logits → every head uniform over positions → Σ_p max = 1 → L_d = 7.
    layer.pool_conv2.set_weights([np.zeros_like(w) for w in layer.pool_conv2.get_weights()])
    _, div = layer(x, training=False)
    np.testing.assert_allclose(to_numpy(div), [7.0], atol=1e-5)


def test_width_must_divide_heads():
    with pytest.raises(ValueError, match="divisible"):
        ModeAttention(heads=8)(np.zeros((1, 2, 2, 60), "float32"))
