import numpy as np
import pytest

from keras_reid.layers.compressed_self_attention import CompressedSelfAttention
from tests.test_case import run_layer_test, run_serialization_test, to_numpy


def _softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def csa_reference(x, kernel_m, kernel_v, alpha, num_maps, groups):
    """Paper Eq. 3–7 per channel group, written independently of the layer (float64)."""
    b, h, w, c = x.shape
    n, cg, d = h * w, c // groups, num_maps
    km, kv = kernel_m[0, 0].astype(np.float64), kernel_v[0, 0].astype(np.float64)
    out = np.empty((b, n, c))
    for g in range(groups):
        ig = x[..., g * cg : (g + 1) * cg].reshape(b, n, cg).astype(np.float64)
        m = ig @ km[:, g * d : (g + 1) * d]  # M_kj = v_k^T I_j, (b, n, d)
        v = ig @ kv[:, g * cg : (g + 1) * cg]  # V = W_g I, (b, n, cg)
        base = _softmax(m, axis=1)  # Eq. 3: over positions
        weights = _softmax(m, axis=2)  # Eq. 4: over the D maps
        for i in range(b):
            elementary = base[i].T @ v[i]  # Eq. 6: E_k = sum_j B_kj V_j, (d, cg)
            out[i, :, g * cg : (g + 1) * cg] = alpha * weights[i] @ elementary + ig[i]  # Eq. 5, 7
    return out.reshape(b, h, w, c)


def test_layer_kit():
    x = np.random.rand(2, 6, 4, 16).astype("float32")
    run_layer_test(
        CompressedSelfAttention,
        {"num_maps": 4, "groups": 2},
        x,
        (2, 6, 4, 16),
        expected_num_trainable_weights=3,
    )


@pytest.mark.parametrize("num_maps,groups", [(32, 2), (5, 1), (3, 4)])
def test_parity_with_numpy_reference(num_maps, groups):
    rng = np.random.default_rng()
    x = rng.normal(size=(2, 5, 3, 8)).astype("float32")
    layer = CompressedSelfAttention(num_maps=num_maps, groups=groups)
    layer.build(x.shape)
    km = rng.normal(size=tuple(layer.conv_m.kernel.shape)).astype("float32")
    kv = rng.normal(size=tuple(layer.conv_v.kernel.shape)).astype("float32") * 0.5
    alpha = float(rng.uniform(0.5, 2.0))
    layer.conv_m.kernel.assign(km)
    layer.conv_v.kernel.assign(kv)
    layer.alpha.assign(alpha)
    expected = csa_reference(x, km, kv, alpha, num_maps, groups)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("groups", [1, 2])
def test_single_map_is_residual_plus_spatially_weighted_mean(groups):
    # D = 1: softmax over one map gives W = 1 everywhere, so every position receives
    # I + alpha * sum_j softmax_j(M) V_j (the same vector for all positions).
    rng = np.random.default_rng()
    x = rng.normal(size=(2, 4, 3, 6)).astype("float32")
    layer = CompressedSelfAttention(num_maps=1, groups=groups, alpha=0.7)
    out = to_numpy(layer(x))
    km, kv = to_numpy(layer.conv_m.kernel)[0, 0], to_numpy(layer.conv_v.kernel)[0, 0]
    cg = 6 // groups
    xf = x.reshape(2, 12, 6).astype(np.float64)
    for g in range(groups):
        ig = xf[..., g * cg : (g + 1) * cg]
        m = ig @ km[:, g : g + 1]
        v = ig @ kv[:, g * cg : (g + 1) * cg]
        mean_v = (_softmax(m, axis=1) * v).sum(axis=1, keepdims=True)  # (b, 1, cg)
        delta = out.reshape(2, 12, 6)[..., g * cg : (g + 1) * cg] - ig
        np.testing.assert_allclose(delta, np.broadcast_to(0.7 * mean_v, delta.shape), atol=1e-5)


def test_alpha_zero_is_identity_and_alpha_options():
    x = np.random.normal(size=(2, 4, 3, 8)).astype("float32")
    layer = CompressedSelfAttention(num_maps=4, groups=2)  # alpha initialised to 0
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    fixed = CompressedSelfAttention(num_maps=4, groups=2, alpha=0.3, trainable_alpha=False)
    fixed(x)
    assert len(fixed.trainable_weights) == 2 and len(fixed.non_trainable_weights) == 1
    run_serialization_test(fixed)


def test_invalid_groups():
    with pytest.raises(ValueError):
        CompressedSelfAttention(num_maps=4, groups=3)(np.zeros((1, 2, 2, 8), "float32"))
