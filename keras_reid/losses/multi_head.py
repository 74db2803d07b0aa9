from keras_reid.api_export import keras_reid_export
from keras_reid.losses.reid_loss import ReIDLoss
from keras_reid.losses.triplet import TripletLoss


@keras_reid_export
class CombinedReIDLoss(ReIDLoss):
    """Identity CE over every head plus a weighted batch-hard triplet on the embedding.

    `loss = Σ_h w_h · CE_ε(logits_h) / Σ_h w_h + triplet_weight · Triplet(embedding)`, the
    `ImageTripletEngine` objective of torchreid (softmax weight 1). The CE part is exactly
    `ReIDLoss` (label smoothing ε, per-head weights, e.g. PCB parts, deep-supervision λ,
    HA-CNN's global/local heads; missing heads weigh 1.0); the triplet part uses
    `outputs["embedding"]`. Auxiliary terms the model adds itself with `add_loss` (the StRA
    diversity loss, weighted by the model's constructor argument) are **not** part of this
    loss: `ReIDModel.compute_loss` adds `model.losses` on top.

    Use it with P×K batches (`keras_reid.data.train_dataset`), otherwise most anchors have no
    positive. With `triplet_weight=0` it equals `ReIDLoss`. A model without classifier
    (`num_classes=None`) may be trained with `triplet_weight > 0` alone.

    Args:
        label_smoothing: ε of the cross-entropy (torchreid: 0.1).
        head_weights: optional `{head_name: weight}`.
        triplet_weight: weight of the triplet term (0 disables it).
        margin, soft_margin: see `TripletLoss`.

    Example:
    >>> import keras_reid
    >>> model = keras_reid.build("resnet50_stra", num_classes=10, image_shape=(64, 32, 3))
    >>> model.compile(optimizer="adam", loss=CombinedReIDLoss(triplet_weight=1.0))
    """

    def __init__(self, label_smoothing=0.1, head_weights=None, triplet_weight=0.0, margin=0.3, soft_margin=False):
        super().__init__(label_smoothing=label_smoothing, head_weights=head_weights)
        self.triplet_weight = float(triplet_weight)
        self.triplet = TripletLoss(margin=margin, soft_margin=soft_margin)

    def __call__(self, labels, outputs, logit_names, sample_weight=None):
        if not logit_names and self.triplet_weight:
            return self.triplet_weight * self.triplet(labels, outputs, sample_weight=sample_weight)
        loss = super().__call__(labels, outputs, logit_names, sample_weight)
        if self.triplet_weight:
            loss = loss + self.triplet_weight * self.triplet(labels, outputs, sample_weight=sample_weight)
        return loss

    def get_config(self):
        config = super().get_config()
        config.update(
            triplet_weight=self.triplet_weight, margin=self.triplet.margin, soft_margin=self.triplet.soft_margin
        )
        return config
