import numpy as np
from keras import ops

import keras_reid
from keras_reid.losses import CombinedReIDLoss, ReIDLoss
from tests.losses.test_triplet import numpy_batch_hard


def numpy_ce(labels, logits, eps):
    logits = logits - logits.max(1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    n = logits.shape[1]
    target = np.full(logits.shape, eps / n)
    target[np.arange(len(labels)), labels] += 1 - eps
    return float(np.mean(-(target * log_p).sum(1)))


def test_matches_manual_computation():
    rng = np.random.default_rng()
    labels = np.repeat(np.arange(3), 2)
    outputs = {
        "embedding": rng.normal(size=(6, 8)).astype("float32"),
        "part0": rng.normal(size=(6, 3)).astype("float32"),
        "part1": rng.normal(size=(6, 3)).astype("float32"),
    }
    loss = CombinedReIDLoss(label_smoothing=0.1, head_weights={"part1": 3.0}, triplet_weight=0.7, margin=0.3)
    expected = (numpy_ce(labels, outputs["part0"], 0.1) + 3.0 * numpy_ce(labels, outputs["part1"], 0.1)) / 4.0
    expected += 0.7 * numpy_batch_hard(labels, outputs["embedding"].astype("float64"), 0.3, False)
    got = float(ops.convert_to_numpy(loss(labels, outputs, ["part0", "part1"])))
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    # triplet_weight=0 is ReIDLoss
    plain = float(ops.convert_to_numpy(CombinedReIDLoss()(labels, outputs, ["part0"])))
    np.testing.assert_allclose(plain, float(ops.convert_to_numpy(ReIDLoss()(labels, outputs, ["part0"]))), rtol=1e-6)
    # embedding-only models: triplet alone
    only = float(ops.convert_to_numpy(CombinedReIDLoss(triplet_weight=1.0)(labels, outputs, [])))
    np.testing.assert_allclose(only, numpy_batch_hard(labels, outputs["embedding"].astype("float64"), 0.3, False), rtol=1e-4)
    config = loss.get_config()
    assert CombinedReIDLoss.from_config(config).get_config() == config and isinstance(loss, ReIDLoss)


def test_fit_step_on_pk_batch(tmp_path):
    from keras_reid import data
    from tests.data.synthetic import write_image

    records = []
    for pid in range(4):
        for k in range(2):
            records.append((write_image(str(tmp_path / f"{pid}_{k}.jpg"), size=(40, 20), color=pid * 60, seed=k), pid, k))
    ds = data.train_dataset(records, image_size=(64, 32), num_identities=2, num_instances=2, seed=0)
    model = keras_reid.build("resnet50_stra", num_classes=4, image_shape=(64, 32, 3))
    model.compile(optimizer="sgd", loss=CombinedReIDLoss(triplet_weight=1.0))
    history = model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
