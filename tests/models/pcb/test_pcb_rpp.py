import numpy as np
import pytest

from keras_reid.models.pcb.pcb import PCB
from keras_reid.models.pcb.pcb_rpp import PCBRPP
from tests.test_case import run_model_saving_test, run_reid_model_test, to_numpy

SHAPE = (96, 16, 3)
TINY = {"image_shape": SHAPE, "stage_blocks": (1, 1, 1, 1)}


def _data(n=2):
    return np.random.rand(n, *SHAPE).astype("float32"), np.arange(n) % 3


def test_stage1_is_pcb():
    x, _ = _data()
    stage1 = PCBRPP(num_classes=3, rpp_stage=1, **TINY)
    pcb = PCB(num_classes=3, **TINY)
    assert "local_mask" not in [layer.name for layer in stage1.network.layers]
    pcb.transfer_weights(stage1)
    np.testing.assert_allclose(pcb.predict(x, verbose=0), stage1.predict(x, verbose=0), atol=1e-6)


def test_stage2_trains_only_the_part_classifier():
    x, y = _data()
    stage1 = PCBRPP(num_classes=3, rpp_stage=1, **TINY)
    stage2 = PCBRPP(num_classes=3, rpp_stage=2, **TINY)
    copied, skipped = stage2.transfer_weights(stage1)
    assert skipped == ["local_mask"] and "feat_bn2d" in copied
    assert [v.path for v in stage2.trainable_variables] == ["local_mask/kernel", "local_mask/bias"]
    frozen = [v for v in stage2.non_trainable_variables if "seed_generator" not in v.path]
    frozen_before = [to_numpy(v).copy() for v in frozen]
    run_reid_model_test(stage2, x, y, expected_embedding_dim=6 * 2048)  # asserts a weight changed
    for before, after in zip(frozen_before, frozen):
        np.testing.assert_array_equal(before, to_numpy(after))  # incl. BN moving statistics
    restored = run_model_saving_test(stage2, x)
    assert len(restored.trainable_variables) == 2


def test_stage3_with_csa_contract_and_saving():
    x, y = _data()
    model = PCBRPP(num_classes=3, attention="csa", csa_num_maps=4, rpp_mode="paper", **TINY)
    assert model.rpp_stage == 3
    assert model.logit_names[-3:] == ["aux_1", "aux_2", "aux_3"]
    run_reid_model_test(model, x, y, expected_embedding_dim=6 * 2048)
    run_model_saving_test(model, x)


def test_invalid_stage():
    with pytest.raises(ValueError):
        PCBRPP(rpp_stage=4, **TINY)
