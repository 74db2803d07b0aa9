import numpy as np
import pytest
from keras import ops

from keras_reid.losses import TripletLoss, batch_hard_triplet_loss


def numpy_batch_hard(labels, x, margin, soft_margin):
    n = len(labels)
    losses = []
    for i in range(n):
        d = [np.sqrt(max(np.sum(x[i] ** 2) + np.sum(x[j] ** 2) - 2 * x[i] @ x[j], 1e-12)) for j in range(n)]
        pos = [d[j] for j in range(n) if labels[j] == labels[i]]
        neg = [d[j] for j in range(n) if labels[j] != labels[i]]
        diff = max(pos) - min(neg)
        losses.append(np.log1p(np.exp(diff)) if soft_margin else max(0.0, diff + margin))
    return float(np.mean(losses))


@pytest.mark.parametrize("soft_margin", [False, True])
def test_matches_numpy_reference(soft_margin):
    rng = np.random.default_rng()
    labels = np.repeat(rng.permutation(10)[:4], 3)
    x = rng.normal(size=(12, 16)).astype("float32")
    expected = numpy_batch_hard(labels, x.astype("float64"), 0.3, soft_margin)
    got = float(ops.convert_to_numpy(TripletLoss(0.3, soft_margin)(labels, x)))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    got = float(ops.convert_to_numpy(TripletLoss(0.3, soft_margin)(labels, {"embedding": x}, ["logits"])))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_separated_clusters_give_zero_and_margin():
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0, 0], [0, 0.1], [10, 0], [10, 0.1]], "float32")
    assert float(ops.convert_to_numpy(batch_hard_triplet_loss(labels, x))) == 0.0
    same = np.zeros((4, 2), "float32")  # all at one point: d_ap = d_an -> margin
    np.testing.assert_allclose(float(ops.convert_to_numpy(batch_hard_triplet_loss(labels, same, 0.3))), 0.3, atol=1e-5)


def test_config_roundtrip():
    loss = TripletLoss(margin=0.5, soft_margin=True)
    assert TripletLoss.from_config(loss.get_config()).get_config() == {"margin": 0.5, "soft_margin": True}
