"""`ReIDModel.compute_loss`: `evaluate` reports the training objective, `sample_weight` counts."""

import keras
import numpy as np
import pytest

import keras_reid
from keras_reid.losses import ReIDLoss


def _model():
    keras.utils.set_random_seed(0)
    # StRA: a classifier head and an auxiliary (diversity) loss term.
    return keras_reid.build("mobilenetv2_stra", num_classes=3, image_shape=(64, 32, 3), diversity_weight=0.5)


def _objective(model, x, y, sample_weight=None):
    """Independent reference: the heads in inference mode, ReIDLoss, NumPy maths."""
    outputs = model.network(x, training=False)
    logits = keras.ops.convert_to_numpy(outputs["logits"]).astype(np.float64)
    log_probs = logits - logits.max(1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
    targets = np.full(logits.shape, 0.1 / 3) + 0.9 * np.eye(3)[y]
    per_sample = -(targets * log_probs).sum(1)
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    diversity = float(np.mean(keras.ops.convert_to_numpy(outputs["diversity"])))
    return float((per_sample * w).sum() / len(y)) + 0.5 * diversity


def test_evaluate_reports_the_objective_with_sample_weight():
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=ReIDLoss(0.1))
    x = np.random.default_rng(0).normal(size=(4, 64, 32, 3)).astype("float32")
    y = np.array([0, 1, 2, 0])
    loss = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)["loss"]
    assert loss > 0.5  # was 0.0: the inference output has no logits
    np.testing.assert_allclose(loss, _objective(model, x, y), rtol=1e-4)
    w = np.array([1.0, 0.0, 2.0, 0.5], "float32")
    weighted = model.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(weighted, _objective(model, x, y, w), rtol=1e-4)
    assert abs(weighted - loss) > 1e-3


def test_fit_honours_sample_weight_and_refuses_losses_that_cannot():
    model = keras_reid.build("mobilenetv2", num_classes=3, image_shape=(64, 32, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    x = np.random.default_rng(1).normal(size=(4, 64, 32, 3)).astype("float32")
    y = np.array([0, 1, 2, 0])
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables]
    # All-zero weights: zero loss, zero gradients, no trainable weight moves.
    model.fit(x, y, sample_weight=np.zeros(4, "float32"), batch_size=4, epochs=1, verbose=0)
    after = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    assert all(np.array_equal(a, b) for a, b in zip(after, before))
    model.fit(x, y, sample_weight=np.ones(4, "float32"), batch_size=4, epochs=1, verbose=0)
    moved = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(moved, before))

    def no_weights(labels, outputs, logit_names):
        return ReIDLoss()(labels, outputs, logit_names)

    no_weights.reid_outputs = True
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=no_weights)
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(x, y, sample_weight=np.ones(4, "float32"), batch_size=4, epochs=1, verbose=0)
