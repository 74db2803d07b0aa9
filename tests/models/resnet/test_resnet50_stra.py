import numpy as np
import pytest

import keras_reid
from keras_reid.models import ResNet50StRA
from tests.test_case import run_model_saving_test, run_reid_model_test, to_numpy


def _trainable_params(model, skip_classifier=True):
    return sum(
        int(np.prod(v.shape))
        for v in model.trainable_variables
        if not (skip_classifier and "classifier" in v.path)
    )


def test_parameter_count_matches_upstream():
    """Upstream stru_resnet50 without its classifier: 17,621,560 trainable parameters."""
    model = keras_reid.build("resnet50_stra", num_classes=751)
    assert _trainable_params(model) == 17_621_560
    # The classifier is Linear(512, 751) with bias, as upstream (18,006,823 in total).
    assert _trainable_params(model, skip_classifier=False) == 17_621_560 + 512 * 751 + 751


def test_baseline_parameter_count():
    """Plain ResNet-50 ReID with the same head: 24.6 M (the paper's figure)."""
    model = keras_reid.build("resnet50")
    assert _trainable_params(model) == 23_508_032 + 2048 * 512 + 2 * 512


def test_contract_training_step_and_saving():
    model = keras_reid.build("resnet50_stra", num_classes=3, image_shape=(64, 32, 3))
    x = np.random.rand(4, 64, 32, 3).astype("float32")
    run_reid_model_test(model, x, np.array([0, 1, 2, 0]), expected_embedding_dim=512)
    out = model(x, training=True)
    assert sorted(out) == ["embedding", "logits"]
    # The three blocks' diversity losses are added with add_loss: each in [0, G − 1].
    assert len(model.losses) == 1
    diversity = float(to_numpy(model.losses[0]))
    assert 0.0 <= diversity <= 3 * 7.0
    run_model_saving_test(model, x)


def test_diversity_weight_scales_added_loss():
    x = np.random.rand(2, 64, 32, 3).astype("float32")
    a = keras_reid.build("resnet50_stra", num_classes=2, image_shape=(64, 32, 3), diversity_weight=1.0)
    b = keras_reid.build("resnet50_stra", num_classes=2, image_shape=(64, 32, 3), diversity_weight=0.5)
    b.set_weights(a.get_weights())
    a(x, training=True)
    b(x, training=True)
    np.testing.assert_allclose(to_numpy(b.losses[0]), 0.5 * to_numpy(a.losses[0]), rtol=1e-5)


def test_embedding_only_model():
    model = keras_reid.build("resnet50_stra", image_shape=(64, 32, 3))
    assert model.logit_names == [] and not model.classifier_layers()
    assert model.predict(np.zeros((1, 64, 32, 3)), verbose=0).shape == (1, 512)


def test_softmax_gating_option_builds():
    model = ResNet50StRA(gating="softmax", image_shape=(64, 32, 3))
    assert model.get_config()["gating"] == "softmax"
    assert np.all(np.isfinite(model.predict(np.random.rand(1, 64, 32, 3), verbose=0)))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_is_finite(policy):
    import keras

    keras.mixed_precision.set_global_policy(policy)
    model = keras_reid.build("resnet50_stra", num_classes=3, image_shape=(64, 32, 3))
    out = model(np.random.rand(2, 64, 32, 3).astype("float32") * 3, training=True)
    assert keras.backend.standardize_dtype(out["logits"].dtype) == "float32"
    for value in (out["logits"], out["embedding"], model.losses[0]):
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(value, "float32"))))
