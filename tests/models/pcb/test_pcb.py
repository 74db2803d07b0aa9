import keras
import numpy as np
import pytest

from keras_reid.losses.reid_loss import ReIDLoss
from keras_reid.models.pcb.pcb import PCB, part_normalized_embedding, stripe_pool
from tests.test_case import run_model_saving_test, run_reid_model_test, to_numpy

SHAPE = (96, 16, 3)  # stride 16 → 6×1 final map: one row per stripe
TINY = {"image_shape": SHAPE, "stage_blocks": (1, 1, 1, 1)}
PARTS = [f"part_{i}" for i in range(6)]


def _data(n=2):
    return np.random.rand(n, *SHAPE).astype("float32"), np.arange(n) % 3


def test_pcb_contract_and_saving():
    x, y = _data()
    model = PCB(num_classes=3, **TINY)
    assert model.logit_names == PARTS
    run_reid_model_test(model, x, y, expected_embedding_dim=6 * 2048)
    run_model_saving_test(model, x)


@pytest.mark.parametrize("attention", ["csa", pytest.param("sa", marks=pytest.mark.slow)])
def test_pcb_attention_contract_and_saving(attention):
    x, y = _data()
    model = PCB(num_classes=3, attention=attention, csa_num_maps=4, **TINY)
    assert model.logit_names == PARTS + ["aux_1", "aux_2", "aux_3"]
    assert model.default_head_weights()["aux_2"] == 1.0
    names = {layer.name for layer in model.network.layers}
    assert {f"{attention}{s}" for s in (1, 2, 3)} <= names
    assert {"classifier_aux1", "classifier_aux2", "classifier_aux3", "local_conv", "feat_bn2d"} <= names
    run_reid_model_test(model, x, y, expected_embedding_dim=6 * 2048)
    run_model_saving_test(model, x)


def test_csa_at_alpha_zero_leaves_pcb_unchanged():
    x, _ = _data()
    pcb = PCB(num_classes=3, **TINY)
    csa = PCB(num_classes=3, attention="csa", csa_num_maps=4, **TINY)
    copied, skipped = csa.transfer_weights(pcb)
    assert skipped == ["csa1", "csa2", "csa3", "classifier_aux1", "classifier_aux2", "classifier_aux3"]
    assert "layer1_0_conv1" in copied and "classifier_instance5" in copied
    np.testing.assert_allclose(csa.predict(x, verbose=0), pcb.predict(x, verbose=0), atol=1e-6)


def test_resnet50_layout_and_parameter_count():
    # ResNet-50 without fc has 23,508,032 parameters (spec §2.5); head: local_conv + BN γ, β.
    model = PCB(num_classes=None, image_shape=SHAPE)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 23_508_032 + 2048 * 256 + 2 * 256
    assert model.network.get_layer("layer4_2_conv3").kernel.shape == (1, 1, 512, 2048)
    assert model.network.get_layer("layer4_0_downsample_conv").strides == (1, 1)  # last stride 1
    assert model.classifier_layers() == [] and model.logit_names == []
    with_heads = PCB(num_classes=751, attention="csa", image_shape=SHAPE)
    assert len(with_heads.classifier_layers()) == 9
    assert with_heads.embedding_dim == 12288


def test_stripe_pool_matches_official_formula():
    rng = np.random.default_rng()
    for h in (24, 16):  # 16 rows: official windows [0,6), [2,8), ..., [10,16) overlap
        x = rng.normal(size=(2, h, 3, 5)).astype("float32")
        sx, kx = h // 6, h - 5 * (h // 6)
        expected = np.stack([x[:, i * sx : i * sx + kx].mean(axis=(1, 2)) for i in range(6)], 1)
        np.testing.assert_allclose(to_numpy(stripe_pool(x, 6)), expected, atol=1e-6)


def test_test_feature_is_channel_major_per_part_normalised():
    parts = np.random.normal(size=(2, 6, 7)).astype("float32")
    normed = parts / np.linalg.norm(parts, axis=-1, keepdims=True)
    expected = normed.transpose(0, 2, 1).reshape(2, 42)  # torch (B, C, 6, 1).view(B, -1)
    np.testing.assert_allclose(to_numpy(part_normalized_embedding(parts)), expected, atol=1e-6)


def test_embedding_equals_normalised_stripes_of_the_trunk():
    x, _ = _data()
    model = PCB(num_classes=3, **TINY)
    trunk = keras.Model(model.network.input, model.network.get_layer("layer4_0_out").output)
    fmap = to_numpy(trunk(x))
    stripes = fmap.reshape(2, 6, -1, 2048).mean(axis=2)
    stripes /= np.linalg.norm(stripes, axis=-1, keepdims=True)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), stripes.transpose(0, 2, 1).reshape(2, -1), atol=1e-5
    )


def test_reduced_embedding_and_loss_weights():
    x, _ = _data()
    model = PCB(num_classes=3, embedding="reduced", attention="csa", deep_supervision_weight=0.5, **TINY)
    assert model.predict(x, verbose=0).shape == (2, 6 * 256)
    assert model.default_head_weights() == {**{p: 1.0 for p in PARTS}, "aux_1": 0.5, "aux_2": 0.5, "aux_3": 0.5}
    model.compile(optimizer="sgd")
    assert isinstance(model._reid_loss, ReIDLoss) and model._reid_loss.head_weights["aux_3"] == 0.5
    no_ds = PCB(num_classes=3, attention="sa", deep_supervision=False, **TINY)
    assert no_ds.logit_names == PARTS


def test_registered_architectures():
    import keras_reid
    from keras_reid.models.pcb.pcb_rpp import PCBRPP
    from keras_reid.models.sa_pcb.sa_pcb import SAPCB

    expected = {
        "pcb": (PCB, None),
        "pcb_csa": (PCB, "csa"),
        "pcb_sa": (PCB, "sa"),
        "pcb_rpp": (PCBRPP, None),
        "pcb_rpp_csa": (PCBRPP, "csa"),
    }
    for name, (cls, attention) in expected.items():
        model = keras_reid.build(name, image_shape=SHAPE, stage_blocks=(1, 1, 1, 1))
        assert type(model) is cls and model.attention == attention, name
    assert type(keras_reid.build("sa_pcb", image_shape=SHAPE, stage_blocks=(1, 1, 1, 1))) is SAPCB
    assert PCB(image_shape=SHAPE, stage_blocks=(1, 1, 1, 1)).image_shape == SHAPE
