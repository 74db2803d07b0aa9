import keras
import numpy as np
import pytest

from keras_reid.models.sa_pcb.sa_pcb import SAPCB
from tests.test_case import run_model_saving_test, run_reid_model_test, to_numpy

SHAPE = (96, 16, 3)
TINY = {"image_shape": SHAPE, "stage_blocks": (1, 1, 1, 1)}
HEADS = [f"part_{i}" for i in range(6)] + ["global", "aux_1", "aux_2", "aux_3"]


def _data(n=2):
    return np.random.rand(n, *SHAPE).astype("float32"), np.arange(n) % 3


def test_contract_and_saving():
    x, y = _data()
    model = SAPCB(num_classes=3, **TINY)
    assert model.logit_names == HEADS
    run_reid_model_test(model, x, y, expected_embedding_dim=12288)
    run_model_saving_test(model, x)


def test_paper_mode_with_final_attention_saving():
    x, _ = _data()
    model = SAPCB(num_classes=3, attention_mode="paper", final_attention=True, **TINY)
    assert model.network.get_layer("sa4").mode == "paper"
    run_model_saving_test(model, x)


@pytest.mark.parametrize("mode", ["upstream", "paper"])
def test_deep_supervision_branch_matches_numpy(mode):
    x, _ = _data()
    model = SAPCB(num_classes=3, attention_mode=mode, **TINY)
    net = model.network
    fmap = to_numpy(keras.Model(net.input, net.get_layer("layer2_0_out").output)(x)).astype(np.float64)
    b, h, w, c = fmap.shape
    if mode == "upstream":
        m = fmap.mean(-1).reshape(b, -1)
        a = m / m.sum(1, keepdims=True)
    else:
        s = fmap.sum(-1).reshape(b, -1)
        a = np.exp(s - s.max(1, keepdims=True))
        a /= a.sum(1, keepdims=True)
    pooled = (fmap * a.reshape(b, h, w, 1)).mean(axis=(1, 2))  # SA → avg_pool2d (1/HW)
    feature = pooled @ to_numpy(net.get_layer("local_conv_layer2").kernel)[0, 0]  # no BN/ReLU
    cls = net.get_layer("classifier_instance_layer2")
    logits = feature @ to_numpy(cls.kernel) + to_numpy(cls.bias)
    out = net(x, training=False)
    np.testing.assert_allclose(to_numpy(out["aux_2"]), logits, atol=1e-5, rtol=1e-4)
    # Global head: the mean of the six post-ReLU part vectors.
    g = to_numpy(out["part_features"]).mean(axis=1)
    cls6 = net.get_layer("classifier_instance6")
    np.testing.assert_allclose(to_numpy(out["global"]), g @ to_numpy(cls6.kernel) + to_numpy(cls6.bias), atol=1e-5)


def test_upstream_layout_and_parameter_count():
    # Spec §3.4: head 2,913,626 parameters including the unused fusion_conv (4), not built here.
    model = SAPCB(num_classes=751, image_shape=SHAPE)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 23_508_032 + 2_913_626 - 4
    net = model.network
    assert net.get_layer("local_conv_layer3").kernel.shape == (1, 1, 1024, 256)
    assert net.get_layer("classifier_instance6").kernel.shape == (256, 751)
    # The trunk is not modified: spatial attention only feeds the side branches.
    assert net.get_layer("layer2_0_conv1").input is net.get_layer("layer1_2_out").output
