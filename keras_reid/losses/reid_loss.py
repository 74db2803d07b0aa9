from keras_reid.api_export import keras_reid_export
from keras_reid.losses.cross_entropy import label_smoothed_cross_entropy


@keras_reid_export
class ReIDLoss:
    """The identity loss of a ReID model's training outputs: CE averaged over its heads.

    A ReID model in training mode returns a dict holding `"embedding"` and one logits
    tensor per supervised head, whose names are listed in `model.logit_names` (a single
    `"logits"` for ResNet50_StRA; parts and deep-supervision heads for the PCB family;
    `"global"`/`"local"` for HA-CNN). This loss applies label-smoothed cross-entropy to
    every head and takes their weighted mean, as torchreid's `DeepSupervision` does.
    Auxiliary terms the model adds itself (the StRA diversity loss) are added by Keras
    from `model.losses`.

    Args:
        label_smoothing: ε of the label-smoothed cross-entropy (torchreid: 0.1).
        head_weights: optional dict `{head_name: weight}`; missing heads weigh 1.0.

    Example:
    >>> import keras_reid
    >>> model = keras_reid.build("resnet50_stra", num_classes=10)
    >>> model.compile(optimizer="adam", loss=ReIDLoss(label_smoothing=0.1))
    """

    def __init__(self, label_smoothing=0.1, head_weights=None):
        self.label_smoothing = label_smoothing
        self.head_weights = dict(head_weights or {})

    def __call__(self, labels, outputs, logit_names, sample_weight=None):
        total, weight_sum = 0.0, 0.0
        for name in logit_names:
            weight = self.head_weights.get(name, 1.0)
            total = total + weight * label_smoothed_cross_entropy(
                labels, outputs[name], self.label_smoothing, sample_weight
            )
            weight_sum += weight
        if not logit_names:
            raise ValueError(
                "The model has no identity classifier (num_classes=None); build it with "
                "num_classes=... or train it with a metric-learning loss."
            )
        return total / weight_sum

    def get_config(self):
        return {"label_smoothing": self.label_smoothing, "head_weights": self.head_weights}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
