from keras import ops


def weighted_mean(per_sample, sample_weight=None):
    """The batch mean of per-sample losses; with `sample_weight`, `Σ w·l / batch` (Keras'
    "sum_over_batch_size" reduction, what `fit`/`evaluate` do with a standard loss)."""
    if sample_weight is None:
        return ops.mean(per_sample)
    weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    return ops.sum(per_sample * weight) / ops.cast(ops.shape(per_sample)[0], "float32")


def label_smoothed_cross_entropy(labels, logits, epsilon=0.1, sample_weight=None):
    """Cross-entropy with label smoothing as torchreid's `CrossEntropyLoss(label_smooth=True)`.

    Targets are `(1 − ε)·onehot + ε / num_classes`; the loss is averaged over the batch.

    Args:
        labels: int tensor `(batch,)` of identity indices.
        logits: float tensor `(batch, num_classes)`.
        epsilon: smoothing strength (0 gives plain cross-entropy).
        sample_weight: optional `(batch,)` weights (see `weighted_mean`).
    """
    logits = ops.cast(logits, "float32")
    num_classes = logits.shape[-1]
    log_probs = ops.log_softmax(logits, axis=-1)
    targets = ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), num_classes)
    targets = (1.0 - epsilon) * targets + epsilon / num_classes
    return weighted_mean(ops.sum(-targets * log_probs, axis=-1), sample_weight)
