import numpy as np
import pytest

import keras_reid
from keras_reid.layers import ChannelGate, InstanceNormalization
from keras_reid.models.osnet.osnet import OSNet
from keras_reid.models.registry import architecture_info
from tests.test_case import run_model_saving_test, run_reid_model_test, run_serialization_test, to_numpy

SHAPE = (64, 32, 3)
NUM_CLASSES = 5
# torchreid MODEL_ZOO: parameters without the classifier, in millions (rounded to 0.1 M).
PUBLISHED_MILLIONS = {"osnet_x1_0": 2.2, "osnet_x0_75": 1.3, "osnet_x0_5": 0.6, "osnet_x0_25": 0.2,
                      "osnet_ibn_x1_0": 2.2, "osnet_ain_x1_0": 2.2}


def images(n=2, seed=None):
    return np.random.default_rng(seed).normal(size=(n,) + SHAPE).astype("float32")


def trainable_count(weights):
    return sum(int(np.prod(v.shape)) for v in weights)


@pytest.fixture(scope="module")
def model():
    # osnet_x0_25, the cheapest variant, carries the full contract (a fit step: a long trace on TF).
    return keras_reid.build("osnet_x0_25", num_classes=NUM_CLASSES, image_shape=SHAPE)


def test_reid_contract(model):
    x = images(2, seed=0)
    run_reid_model_test(model, x, np.array([0, 3]), expected_embedding_dim=512)
    assert model.logit_names == ["logits"]
    # torchreid's eval output: the fc head's ReLU output, not L2-normalised.
    embedding = to_numpy(model(x))
    assert embedding.min() >= 0.0
    train = model(x, training=True)
    assert to_numpy(train["embedding"]).min() >= 0.0  # the same v in training (torchreid's triplet feature)


def test_saving(model):
    run_model_saving_test(model, images(2, seed=2), atol=1e-5)


@pytest.mark.parametrize("arch", sorted(PUBLISHED_MILLIONS))
def test_variant_shapes_config_and_parameter_count(arch):
    model = keras_reid.build(arch, num_classes=NUM_CLASSES, image_shape=SHAPE)
    x = images(2, seed=1)
    assert tuple(model(x).shape) == (2, 512)
    train = model(x, training=True)
    assert tuple(train["embedding"].shape) == (2, 512) and tuple(train["logits"].shape) == (2, NUM_CLASSES)
    revived = run_serialization_test(model)
    assert len(revived.weights) == len(model.weights)
    classifier = trainable_count(w for layer in model.classifier_layers() for w in layer.trainable_weights)
    assert classifier == 512 * NUM_CLASSES + NUM_CLASSES
    count = trainable_count(model.trainable_weights)
    assert round((count - classifier) / 1e6, 1) == PUBLISHED_MILLIONS[arch]
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    from tests.conversion.torch_reference_osnet import build_reference

    ref = build_reference(arch, num_classes=NUM_CLASSES)
    assert count == sum(p.numel() for p in ref.parameters())
    buffers = sum(b.numel() for name, b in ref.named_buffers() if not name.endswith("num_batches_tracked"))
    assert trainable_count(model.non_trainable_weights) == buffers  # BN running statistics


def _layer_names(model, cls):
    return sorted(layer.name for layer in model.network.layers if isinstance(layer, cls))


def test_instance_norm_placement():
    ibn = OSNet(width=0.25, instance_norm="ibn", image_shape=SHAPE)
    assert _layer_names(ibn, InstanceNormalization) == ["conv1_bn", "conv2_0_in", "conv2_1_in"]
    # IBN: the IN follows the residual sum; the block keeps conv3's BN.
    assert ibn.network.get_layer("conv2_0_in").input is ibn.network.get_layer("conv2_0_add").output
    ain = OSNet(width=0.25, instance_norm="ain", image_shape=SHAPE)
    names = _layer_names(ain, InstanceNormalization)
    assert names == ["conv1_bn", "conv2_0_in", "conv2_1_in", "conv3_1_in", "conv4_0_in"]
    # AIN (OSBlockINin): the IN replaces conv3's BN inside the residual branch.
    layer_names = {layer.name for layer in ain.network.layers}
    for block in ("conv2_0", "conv2_1", "conv3_1", "conv4_0"):
        assert f"{block}_conv3_bn" not in layer_names
    assert {"conv3_0_conv3_bn", "conv4_1_conv3_bn"} <= layer_names
    plain = OSNet(width=0.25, image_shape=SHAPE)
    assert _layer_names(plain, InstanceNormalization) == []
    assert len(_layer_names(plain, ChannelGate)) == 6  # one gate per block, shared by its four streams


def test_without_fc_head():
    model = OSNet(num_classes=3, width=0.25, feature_dim=None, image_shape=SHAPE)
    assert model.embedding_dim == 128  # torchreid feature_dim=None: the pooled conv5 feature
    assert tuple(model(images(2)).shape) == (2, 128)
    assert model.get_config()["feature_dim"] is None


def test_invalid_arguments():
    with pytest.raises(ValueError, match="instance_norm"):
        OSNet(instance_norm="bn", image_shape=SHAPE)
    with pytest.raises(ValueError, match="multiple of 4"):
        OSNet(width=0.3, image_shape=SHAPE)
    with pytest.raises(ValueError, match="16"):
        OSNet(width=0.25, image_shape=(8, 8, 3))
    with pytest.raises(ValueError, match="feature_dim"):
        OSNet(width=0.25, feature_dim=0, image_shape=SHAPE)


def test_registered_architectures():
    names = keras_reid.list_architectures()
    for arch in PUBLISHED_MILLIONS:
        assert arch in names
    assert architecture_info("osnet_x0_5")["cls"] is OSNet
    assert architecture_info("osnet_x0_5")["defaults"] == {"width": 0.5}
    assert architecture_info("osnet_ain_x1_0")["defaults"] == {"instance_norm": "ain"}
