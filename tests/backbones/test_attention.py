"""Attention as a backbone constructor argument (`keras_reid.backbones.attention`)."""

import numpy as np
import pytest
from keras import layers

from keras_reid.backbones import MobileNetV2Backbone, ResNetBackbone
from keras_reid.backbones import attention


def _names(model):
    return {layer.name for layer in model.layers}


def test_resnet_block_attention_replaces_the_chosen_stage():
    backbone = ResNetBackbone(image_shape=(64, 32, 3), block_attention="stra", block_attention_args={"heads": 4})
    names = _names(backbone)
    assert {"layer4_0", "layer4_1", "layer4_2"} <= names
    assert "layer4_0_conv2" not in names and "layer3_5_conv2" in names  # stages 1-3 stay torchvision's
    assert backbone.get_layer("layer4_0").heads == 4
    assert tuple(backbone.auxiliary_outputs["diversity"].shape) == (None,)
    assert ResNetBackbone(image_shape=(64, 32, 3)).auxiliary_outputs == {}


def test_resnet_stage_attention_goes_after_the_chosen_stages():
    backbone = ResNetBackbone(
        image_shape=(64, 32, 3), stage_attention="csa", stage_attention_stages=(1, 3), stage_attention_args={"groups": 2}
    )
    names = _names(backbone)
    assert {"csa1", "csa3"} <= names and "csa2" not in names
    # The stage output is the attention's output (deep supervision reads it there).
    assert backbone.stage_outputs["stage1"] is backbone.get_layer("csa1").output


def test_mobilenetv2_spatial_attention_replaces_depthwise_convs():
    backbone = MobileNetV2Backbone(image_shape=(64, 32, 3), output_stride=16, spatial_attention="stra",
                                   spatial_attention_blocks=(16, 17))
    names = _names(backbone)
    assert "features_16_local_attention" in names and "features_16_depthwise_conv" not in names
    assert "features_15_depthwise_conv" in names and "features_15_local_attention" not in names
    assert "diversity" in backbone.auxiliary_outputs


def test_attention_on_a_stride_2_block_is_refused():
    with pytest.raises(ValueError, match="stride-1"):
        MobileNetV2Backbone(image_shape=(64, 32, 3), spatial_attention="stra", spatial_attention_blocks=(14,))


def test_unknown_attention_names_the_registered_ones():
    with pytest.raises(ValueError, match="Did you mean csa.*Registered: csa, sa"):
        ResNetBackbone(image_shape=(64, 32, 3), stage_attention="cssa")
    with pytest.raises(ValueError, match="slot"):
        attention.register_attention("vit_block", "x", lambda x: x)


def test_registered_attention_is_built_by_the_backbone():
    """A new attention plugs in by name: here squeeze-and-excitation after stages 1 and 2."""

    def squeeze_excitation(x, stage, dtype=None, reduction=4):
        channels = x.shape[-1]
        w = layers.GlobalAveragePooling2D(keepdims=True, name=f"se{stage}_pool")(x)
        w = layers.Conv2D(channels // reduction, 1, activation="relu", name=f"se{stage}_reduce")(w)
        w = layers.Conv2D(channels, 1, activation="sigmoid", name=f"se{stage}_expand")(w)
        return layers.Multiply(name=f"se{stage}")([x, w])

    attention.register_attention("resnet_stage", "test_se", squeeze_excitation)
    try:
        with pytest.raises(ValueError, match="already registered"):
            attention.register_attention("resnet_stage", "test_se", squeeze_excitation)
        backbone = ResNetBackbone(
            image_shape=(32, 32, 3),
            stackwise_num_blocks=(1, 1, 1, 1),
            stage_attention="test_se",
            stage_attention_stages=(1, 2),
            stage_attention_args={"reduction": 8},
        )
        assert backbone.get_layer("se2_reduce").filters == 512 // 8
        assert backbone.get_config()["stage_attention"] == "test_se"
        assert "test_se" in attention.list_attention("resnet_stage")
        out = backbone.predict(np.random.rand(1, 32, 32, 3).astype("float32"), verbose=0)
        assert out.shape == (1, 2, 2, 2048) and np.isfinite(out).all()
    finally:
        attention._BUILDERS["resnet_stage"].pop("test_se", None)
