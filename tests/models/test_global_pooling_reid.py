"""The backbone/task split: `GlobalPoolingReID` composes any backbone with the ReID head."""

import keras
import numpy as np

import keras_reid
from keras_reid.backbones import MobileNetV2Backbone, ResNetBackbone
from keras_reid.models import GlobalPoolingReID
from tests.test_case import run_model_saving_test

SHAPE = (64, 32, 3)


def _paths(model):
    return [w.path for w in model.network.weights]


def test_named_architectures_are_the_task_on_their_backbone():
    """MobileNetV2_StRA built by name and composed by hand: same layers, same weights, same output."""
    named = keras_reid.build("mobilenetv2_stra", num_classes=5, image_shape=SHAPE, heads=4)
    composed = GlobalPoolingReID(
        MobileNetV2Backbone(image_shape=SHAPE, output_stride=16, spatial_attention="stra",
                            spatial_attention_args={"heads": 4}),
        num_classes=5,
    )
    assert _paths(named) == _paths(composed)
    composed.network.set_weights(named.network.get_weights())
    x = np.random.RandomState(0).rand(2, *SHAPE).astype("float32")
    np.testing.assert_allclose(composed.predict(x, verbose=0), named.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    assert composed.auxiliary_loss_weights == named.auxiliary_loss_weights == {"diversity": 1.0}


def test_backbone_shares_the_model_weights():
    model = keras_reid.build("resnet50", num_classes=3, image_shape=SHAPE)
    assert isinstance(model.backbone, ResNetBackbone)
    assert {id(v) for v in model.backbone.weights} <= {id(v) for v in model.network.weights}
    model.backbone.trainable = False  # freeze the trunk: only the head and classifier train
    trainable = {v.path.split("/")[0] for v in model.trainable_weights}
    assert trainable == {"head_conv", "head_bn", "classifier"}


def test_composed_model_saves_and_loads():
    backbone = ResNetBackbone(image_shape=(32, 32, 3), stackwise_num_blocks=(1, 1, 1, 1), block_attention="stra",
                              block_attention_args={"heads": 4})
    model = GlobalPoolingReID(backbone, num_classes=4, embedding_dim=64, bnneck=True, diversity_weight=0.5)
    config = model.get_config()
    assert config["backbone"]["config"]["block_attention"] == "stra"
    restored = GlobalPoolingReID.from_config(config)
    assert _paths(restored) == _paths(model) and restored.diversity_weight == 0.5
    run_model_saving_test(model, np.random.rand(2, 32, 32, 3).astype("float32"))


def test_composed_model_trains():
    model = GlobalPoolingReID(
        MobileNetV2Backbone(image_shape=(32, 16, 3), output_stride=16, spatial_attention="stra"), num_classes=3
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    x = np.random.RandomState(1).rand(6, 32, 16, 3).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2])
    history = model.fit(x, y, epochs=2, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
