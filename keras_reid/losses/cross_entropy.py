from keras import ops


def label_smoothed_cross_entropy(labels, logits, epsilon=0.1):
    """Cross-entropy with label smoothing as torchreid's `CrossEntropyLoss(label_smooth=True)`.

    Targets are `(1 − ε)·onehot + ε / num_classes`; the loss is averaged over the batch.

    Args:
        labels: int tensor `(batch,)` of identity indices.
        logits: float tensor `(batch, num_classes)`.
        epsilon: smoothing strength (0 gives plain cross-entropy).
    """
    logits = ops.cast(logits, "float32")
    num_classes = logits.shape[-1]
    log_probs = ops.log_softmax(logits, axis=-1)
    targets = ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), num_classes)
    targets = (1.0 - epsilon) * targets + epsilon / num_classes
    return ops.mean(ops.sum(-targets * log_probs, axis=-1))
