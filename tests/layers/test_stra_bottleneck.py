import numpy as np

from keras_reid.layers import StRABottleneck
from tests.layers import stra_reference as ref
from tests.test_case import run_layer_test, to_numpy


def test_layer_kit():
    run_layer_test(
        StRABottleneck,
        {"filters": 64},
        np.random.rand(2, 4, 4, 128).astype("float32"),
        expected_output_shape=[(2, 4, 4, 256), (2,)],
    )


def _reference_block(x, p, projection):
    relu = lambda v: np.maximum(v, 0)
    y = relu(ref.bn(ref.grouped_conv1x1(x, p["conv1"], None, 1), p["bn1"]))
    y = ref.local_attn(y, p["local"])
    y, div = ref.moe(y, p["moe"])
    y = relu(ref.bn(y, p["bn2"]))
    y = ref.bn(ref.grouped_conv1x1(y, p["conv3"], None, 1), p["bn3"])
    shortcut = x
    if projection:
        shortcut = ref.bn(ref.grouped_conv1x1(x, p["down"], None, 1), p["down_bn"])
    return relu(y + shortcut), div


def test_full_block_matches_numpy_reference():
    seed = np.random.SeedSequence().entropy
    rng = np.random.default_rng(seed)
    cin, width, h, w = 256, 128, 6, 4
    x = rng.normal(size=(2, cin, h, w)).astype("float32")
    p = {
        "conv1": rng.normal(0, 0.1, (width, cin, 1, 1)).astype("float32"),
        "bn1": ref.random_bn(rng, width),
        "local": ref.random_local_attn_params(rng, width, width),
        "moe": ref.random_moe_params(rng, width),
        "bn2": ref.random_bn(rng, width),
        "conv3": rng.normal(0, 0.1, (4 * width, width, 1, 1)).astype("float32"),
        "bn3": ref.random_bn(rng, 4 * width),
        "down": rng.normal(0, 0.1, (4 * width, cin, 1, 1)).astype("float32"),
        "down_bn": ref.random_bn(rng, 4 * width),
    }
    block = StRABottleneck(width)
    block.build((None, h, w, cin))
    block.conv1.set_weights([ref.hwio(p["conv1"])])
    ref.set_bn(block.bn1, p["bn1"])
    ref.set_local_attention(block.local_attention, p["local"])
    ref.set_mode_attention(block.mode_attention, p["moe"])
    ref.set_bn(block.bn2, p["bn2"])
    block.conv3.set_weights([ref.hwio(p["conv3"])])
    ref.set_bn(block.bn3, p["bn3"])
    block.downsample_conv.set_weights([ref.hwio(p["down"])])
    ref.set_bn(block.downsample_bn, p["down_bn"])
    out, div = block(np.transpose(x, (0, 2, 3, 1)), training=False)
    exp_out, exp_div = _reference_block(x.astype("float64"), p, projection=True)
    np.testing.assert_allclose(to_numpy(out), np.transpose(exp_out, (0, 2, 3, 1)), atol=1e-5, err_msg=f"seed={seed}")
    np.testing.assert_allclose(to_numpy(div), exp_div, atol=1e-5, err_msg=f"seed={seed}")


def test_identity_shortcut_when_shapes_match():
    block = StRABottleneck(64)
    block.build((None, 4, 4, 256))
    assert not block.has_projection
