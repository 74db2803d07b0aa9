"""The rule engine: transforms, strict refusals naming every bad key, non-strict reports."""

import numpy as np
import pytest

import keras_reid
from conversion import ConversionError, apply_layout, convert_checkpoint, get_layout
from conversion.mapping import TRANSFORMS, Layout, Rule, bn, conv
from tests.conversion import torch_reference as T

SHAPE = (64, 32, 3)


@pytest.fixture(scope="module")
def mnv2_state():
    ref = T.MobileNetV2(1.0, 16, reid_head_dim=512, num_classes=5)
    return {k: v.numpy().copy() for k, v in ref.state_dict().items() if "num_batches" not in k}


def test_transforms():
    w = np.arange(2 * 3 * 5 * 7, dtype="float32").reshape(2, 3, 5, 7)
    assert TRANSFORMS["conv"](w).shape == (5, 7, 3, 2)
    assert TRANSFORMS["conv"](w)[1, 2, 0, 1] == w[1, 0, 1, 2]
    dw = np.random.rand(6, 1, 3, 3)
    assert TRANSFORMS["depthwise"](dw).shape == (3, 3, 6, 1)
    assert TRANSFORMS["depthwise"](dw)[0, 2, 4, 0] == dw[4, 0, 0, 2]
    lin = np.random.rand(4, 9)
    np.testing.assert_array_equal(TRANSFORMS["linear"](lin), lin.T)
    np.testing.assert_array_equal(TRANSFORMS["conv1x1_to_dense"](lin[:, :, None, None]), lin.T)
    with pytest.raises(ValueError):
        TRANSFORMS["depthwise"](np.zeros((6, 2, 3, 3)))


def test_rule_templates():
    rule = Rule(r"layer([1-4])\.(\d+)\.conv(\d)\.weight", r"layer\1_\2_conv\3/kernel", "conv")
    assert rule.match("layer3.12.conv2.weight") == "layer3_12_conv2/kernel"
    assert rule.match("layer3.12.conv2.weight.x") is None
    assert [r.target for r in bn("a\\.b", "ab")] == ["ab/gamma", "ab/beta", "ab/moving_mean", "ab/moving_variance"]
    with pytest.raises(ValueError, match="Unknown transform"):
        Rule("x", "y", "rotate")


def test_strict_names_every_problem_and_loads_nothing(mnv2_state):
    state = dict(mnv2_state)
    state["features.3.conv.0.wieght"] = state.pop("features.3.conv.0.weight")  # renamed
    del state["features.5.conv.4.running_var"]  # missing
    state["features.7.conv.6.weight"] = np.zeros((64, 191, 1, 1), "float32")  # wrong shape
    model = keras_reid.build("mobilenetv2", num_classes=5, image_shape=SHAPE)
    before = {v.path: np.array(v) for v in model.weights}
    with pytest.raises(ConversionError) as info:
        apply_layout(state, model, get_layout("mobilenetv2_tonylins"), strict=True)
    message = str(info.value)
    assert "features.3.conv.0.wieght" in message  # unexpected
    assert "features_3_expand_conv/kernel" in message  # therefore missing
    assert "features_5_depthwise_bn/moving_variance" in message  # missing
    assert "features.7.conv.6.weight" in message and "(1, 1, 191, 64)" in message  # shape
    assert "nothing was loaded" in message
    for v in model.weights:
        np.testing.assert_array_equal(np.array(v), before[v.path])


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda s: s.__setitem__("features.2.conv.7.biass", s.pop("features.2.conv.7.bias")), "features.2.conv.7.biass"),
        (lambda s: s.pop("global_avg_pool.1.weight"), "head_conv/kernel"),
        (lambda s: s.__setitem__("classifier.weight", np.zeros((5, 256), "float32")), "classifier.weight"),
    ],
    ids=["renamed", "missing", "shape"],
)
def test_strict_convert_checkpoint_refuses(mnv2_state, edit, needle):
    state = dict(mnv2_state)
    edit(state)
    with pytest.raises(ConversionError, match="strict mode") as info:
        convert_checkpoint(state, "mobilenetv2", image_shape=SHAPE)
    assert needle in str(info.value)


def test_non_strict_reports_what_was_skipped(mnv2_state):
    state = dict(mnv2_state)
    state["extra.weight"] = np.zeros(3, "float32")
    del state["features.18.1.bias"]
    model, report = convert_checkpoint(state, "mobilenetv2", image_shape=SHAPE, strict=False)
    assert [k for k, _ in report.unexpected] == ["extra.weight"]
    assert report.missing == ["features_18_bn/beta"]
    assert "skipped (non-strict)" in report.summary()
    np.testing.assert_array_equal(
        np.array(model.network.get_layer("features_18_conv").kernel),
        state["features.18.0.weight"].transpose(2, 3, 1, 0),
    )


def test_embedding_only_drops_classifier(mnv2_state):
    model, report = convert_checkpoint(dict(mnv2_state), "mobilenetv2", num_classes=0, image_shape=SHAPE)
    assert model.num_classes is None
    assert sorted(report.ignored) == ["classifier.bias", "classifier.weight"]


def test_duplicate_targets_are_a_layout_error():
    layout = Layout("dup", "", rules=conv(r"a", "features_0_conv") + conv(r"b", "features_0_conv"))
    model = keras_reid.MobileNetV2Backbone(image_shape=SHAPE)
    w = np.zeros((32, 3, 3, 3), "float32")
    with pytest.raises(ConversionError, match="maps both"):
        apply_layout({"a.weight": w, "b.weight": w}, model, layout, strict=False)


def test_unknown_layout_suggests():
    with pytest.raises(ValueError, match="Did you mean stra_resnet50"):
        get_layout("stra_resnet5")
