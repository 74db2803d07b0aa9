from keras import ops

from keras_reid.api_export import keras_reid_export

_NO_NEGATIVE = 1e6


def pairwise_euclidean_distance(embeddings):
    """`(B, B)` Euclidean distances, `sqrt(clip(|a|² + |b|² − 2ab, 1e-12))` as torchreid (float32)."""
    x = ops.cast(embeddings, "float32")
    sq = ops.sum(ops.square(x), axis=1)
    dist = ops.expand_dims(sq, 1) + ops.expand_dims(sq, 0) - 2.0 * ops.matmul(x, ops.transpose(x))
    return ops.sqrt(ops.maximum(dist, 1e-12))


def batch_hard_triplet_loss(labels, embeddings, margin=0.3, soft_margin=False, sample_weight=None):
    """Batch-hard triplet loss (Hermans et al. 2017) as torchreid's / fast-reid's `TripletLoss`.

    For every anchor: the hardest positive (largest distance to a same-id sample, the anchor
    itself included, as torchreid) and the hardest negative (smallest distance to another
    id); loss = mean(max(0, d_ap − d_an + margin)), or mean(softplus(d_ap − d_an)) with
    `soft_margin=True` (fast-reid's `SoftMarginLoss`). An anchor without negatives in the
    batch contributes 0. `sample_weight` weighs each anchor's term (`Σ w·l / batch`).
    """
    from keras_reid.losses.cross_entropy import weighted_mean

    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    dist = pairwise_euclidean_distance(embeddings)
    same = ops.equal(ops.expand_dims(labels, 1), ops.expand_dims(labels, 0))
    hardest_positive = ops.max(ops.where(same, dist, ops.zeros_like(dist)), axis=1)
    hardest_negative = ops.min(ops.where(same, ops.full_like(dist, _NO_NEGATIVE), dist), axis=1)
    diff = hardest_positive - hardest_negative
    per_anchor = ops.softplus(diff) if soft_margin else ops.relu(diff + margin)
    return weighted_mean(per_anchor, sample_weight)


@keras_reid_export
class TripletLoss:
    """Batch-hard triplet loss on the training embedding (torchreid / fast-reid).

    Callable as `loss(labels, embeddings)` or, like `ReIDLoss`, on a model's training
    outputs `loss(labels, outputs, logit_names)` (it then uses `outputs["embedding"]`),
    so `model.compile(loss=TripletLoss())` trains an embedding-only model.

    Args:
        margin: the hinge margin (torchreid/fast-reid: 0.3).
        soft_margin: use `softplus(d_ap − d_an)` instead of the hinge.

    Example:
    >>> import numpy as np
    >>> loss = TripletLoss(margin=0.3)
    >>> float(loss(np.array([0, 0, 1, 1]), np.eye(4, 8, dtype="float32"))) > 0
    True

    Reference: Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", arXiv 1703.07737.
    """

    reid_outputs = True

    def __init__(self, margin=0.3, soft_margin=False):
        self.margin = float(margin)
        self.soft_margin = bool(soft_margin)

    def __call__(self, labels, outputs, logit_names=None, sample_weight=None):
        embeddings = outputs["embedding"] if isinstance(outputs, dict) else outputs
        return batch_hard_triplet_loss(labels, embeddings, self.margin, self.soft_margin, sample_weight)

    def get_config(self):
        return {"margin": self.margin, "soft_margin": self.soft_margin}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
