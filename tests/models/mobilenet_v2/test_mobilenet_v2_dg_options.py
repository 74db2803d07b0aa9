"""MobileNetV2 options for domain generalisation: instance normalisation and BNNeck."""

import keras
import numpy as np
import pytest

import keras_reid
from tests.test_case import run_model_saving_test, run_reid_model_test, to_numpy


@pytest.mark.parametrize("name", ["mobilenetv2", "mobilenetv2_stra"])
def test_contract_with_instance_norm_and_bnneck(name):
    if keras.backend.backend() != "tensorflow":
        # Suite time: a training step compiles for minutes on JAX; the new layer
        # (InstanceNormalization) has its own multi-backend tests.
        pytest.skip("runs on TensorFlow; InstanceNormalization is tested on every backend")
    model = keras_reid.build(name, num_classes=3, image_shape=(64, 32, 3), instance_norm_blocks=(2, 3, 4), bnneck=True)
    x = np.random.rand(4, 64, 32, 3).astype("float32")
    run_reid_model_test(model, x, np.array([0, 1, 2, 0]), expected_embedding_dim=512)
    run_model_saving_test(model, x)
    revived = model.__class__.from_config(model.get_config())
    assert revived.instance_norm_blocks == (2, 3, 4) and revived.bnneck


def test_instance_norm_adds_layers_and_keeps_every_other_name():
    base = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
    dg = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3), instance_norm_blocks=(2, 6))
    base_names = {l.name: [w.shape for w in l.weights] for l in base.network.layers if l.weights}
    dg_names = {l.name: [w.shape for w in l.weights] for l in dg.network.layers if l.weights}
    assert set(dg_names) - set(base_names) == {"features_2_expand_in", "features_6_expand_in"}
    assert set(base_names) <= set(dg_names)
    assert all(base_names[n] == dg_names[n] for n in base_names)  # ImageNet weights load by name


def test_bnneck_changes_only_the_training_embedding():
    x = np.random.rand(3, 64, 32, 3).astype("float32")
    plain = keras_reid.build("mobilenetv2", num_classes=4, image_shape=(64, 32, 3))
    neck = keras_reid.build("mobilenetv2", num_classes=4, image_shape=(64, 32, 3), bnneck=True)
    neck.network.set_weights(plain.network.get_weights())
    np.testing.assert_allclose(to_numpy(neck(x)), to_numpy(plain(x)), atol=1e-6)  # same inference output
    a, b = plain(x, training=True), neck(x, training=True)
    np.testing.assert_allclose(to_numpy(a["logits"]), to_numpy(b["logits"]), atol=1e-5)
    # The metric loss sees the feature before the head's BatchNorm: not the BN output.
    bn_out = to_numpy(a["embedding"])
    pre_bn = to_numpy(b["embedding"])
    assert not np.allclose(bn_out, pre_bn, atol=1e-3)
    head = neck.network.get_layer("head_conv")
    assert pre_bn.shape == (3, head.units)


def test_invalid_instance_norm_blocks():
    with pytest.raises(ValueError, match="instance_norm_blocks"):
        keras_reid.build("mobilenetv2", image_shape=(64, 32, 3), instance_norm_blocks=(1,))
    with pytest.raises(ValueError, match="instance_norm_blocks"):
        keras_reid.build("mobilenetv2", image_shape=(64, 32, 3), instance_norm_blocks=(18,))


def test_existing_config_without_options_builds_the_plain_model():
    config = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3)).get_config()
    for key in ("instance_norm_blocks", "bnneck"):
        config.pop(key)
    model = keras_reid.models.MobileNetV2ReID.from_config(config)
    assert model.instance_norm_blocks == () and not model.bnneck
    assert not any(l.name.endswith("_in") for l in model.network.layers)
