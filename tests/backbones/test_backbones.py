import numpy as np
import pytest

from keras_reid.backbones import MobileNetV2Backbone, ResNetBackbone
from tests.test_case import run_model_saving_test


def test_resnet50_shapes_and_params():
    backbone = ResNetBackbone(image_shape=(64, 32, 3), last_stride=1)
    trainable = sum(int(np.prod(v.shape)) for v in backbone.trainable_variables)
    assert trainable == 23_508_032  # torchvision resnet50 without fc
    shapes = {k: tuple(v.shape[1:]) for k, v in backbone.stage_outputs.items()}
    assert shapes == {
        "stage1": (16, 8, 256),
        "stage2": (8, 4, 512),
        "stage3": (4, 2, 1024),
        "stage4": (4, 2, 2048),
    }
    assert ResNetBackbone(image_shape=(64, 32, 3), last_stride=2).output.shape[1:3] == (2, 1)


def test_resnet_uses_torch_conventions():
    backbone = ResNetBackbone(image_shape=(64, 32, 3))
    names = [layer.name for layer in backbone.layers]
    assert "layer2_0_conv2_pad" in names  # explicit symmetric padding before the stride-2 3×3
    conv = backbone.get_layer("layer2_0_conv2")
    assert conv.strides == (2, 2) and conv.padding == "valid" and not conv.use_bias
    assert backbone.get_layer("layer2_0_conv1").strides == (1, 1)  # v1.5: stride on the 3×3
    bn = backbone.get_layer("layer2_0_bn1")
    assert bn.epsilon == 1e-5 and bn.momentum == 0.9


def test_stride2_padding_is_symmetric():
    """An impulse at the first pixel reaches output (0, 0) only through the torch-style (1, 1) pad."""
    backbone = MobileNetV2Backbone(image_shape=(8, 8, 3))
    conv = backbone.get_layer("features_0_conv")
    w = np.zeros(conv.kernel.shape, "float32")
    w[1, 1, 0, 0] = 1.0  # centre tap: output (i, j) reads input (2i, 2j) as PyTorch does
    conv.set_weights([w])
    import keras

    sub = keras.Model(backbone.input, conv.output)
    x = np.zeros((1, 8, 8, 3), "float32")
    x[0, 2, 4, 0] = 1.0
    out = keras.ops.convert_to_numpy(sub(x))[0, :, :, 0]
    assert out[1, 2] == 1.0 and out.sum() == 1.0


@pytest.mark.parametrize("width,last", [(1.0, 1280), (1.4, 1792)])
def test_mobilenetv2_widths(width, last):
    backbone = MobileNetV2Backbone(width=width, image_shape=(64, 32, 3), output_stride=16)
    assert backbone.output.shape[1:] == (4, 2, last)
    assert set(backbone.stage_outputs) == {"stage1", "stage2", "stage3", "stage4"}


def test_mobilenetv2_imagenet_parameter_count():
    """tonylins MobileNetV2 1.0 features: 2,223,872 parameters (ImageNet model minus its classifier)."""
    backbone = MobileNetV2Backbone(image_shape=(224, 224, 3))
    assert sum(int(np.prod(v.shape)) for v in backbone.trainable_variables) == 2_223_872


def test_backbone_saving_round_trip():
    backbone = ResNetBackbone(image_shape=(32, 32, 3), stackwise_num_blocks=(1, 1, 1, 1))
    run_model_saving_test(backbone, np.random.rand(1, 32, 32, 3).astype("float32"))


def test_osnet_backbone_is_the_trunk_of_osnet():
    from keras_reid.backbones import OSNetBackbone
    import keras_reid

    backbone = OSNetBackbone(width=0.25, instance_norm="ain", image_shape=(64, 32, 3))
    model = keras_reid.build("osnet_ain_x1_0", width=0.25, image_shape=(64, 32, 3))
    assert [w.path for w in backbone.weights] == [w.path for w in model.backbone.weights]
    assert backbone.output.shape[1:] == (4, 2, 128)
    run_model_saving_test(backbone, np.random.rand(1, 64, 32, 3).astype("float32"))
    with pytest.raises(ValueError, match="instance_norm"):
        OSNetBackbone(instance_norm="bn")


def test_attention_backbones_round_trip():
    stra = MobileNetV2Backbone(
        image_shape=(32, 16, 3),
        output_stride=16,
        spatial_attention="stra",
        spatial_attention_blocks=(16, 17),
        spatial_attention_args={"heads": 4},
        instance_norm_blocks=(2, 3),
    )
    run_model_saving_test(stra, np.random.rand(1, 32, 16, 3).astype("float32"))
    csa = ResNetBackbone(
        image_shape=(32, 32, 3),
        stackwise_num_blocks=(1, 1, 1, 1),
        stage_attention="csa",
        stage_attention_stages=(2,),
        stage_attention_args={"num_maps": 4, "groups": 2, "alpha": 0.5},
    )
    run_model_saving_test(csa, np.random.rand(1, 32, 32, 3).astype("float32"))
