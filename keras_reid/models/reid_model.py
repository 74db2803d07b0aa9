import keras
from keras import ops
from keras.src.losses.loss import scale_loss_for_distribution

from keras_reid.api_export import keras_reid_export
from keras_reid.losses.cross_entropy import weighted_mean
from keras_reid.losses.reid_loss import ReIDLoss

CLASSIFIER_PREFIX = "classifier"


@keras_reid_export
class ReIDModel(keras.Model):
    """Base class of every keras_reid architecture: the ReID model contract.

    - **Input**: NHWC float images already resized to `image_shape` and normalised by
      the preset's preprocessor (`keras_reid.ReIDPreprocessor`).
    - **Inference** (`model(x)`, `model.predict(x)`): the embedding the upstream code uses
      at test time, a float32 tensor `(batch, embedding_dim)`.
    - **Training** (`model(x, training=True)`, `fit`): a dict with `"embedding"` (the
      training feature, for metric losses) and one logits tensor per supervised head,
      named in `model.logit_names`. Auxiliary losses (the StRA diversity loss) are added
      with `add_loss`, weighted by the model's constructor argument, so they reach
      `model.losses` and `fit` without globals.
    - `num_classes=None` builds an embedding-only model (no classifier layers).
    - Classifier layers are named `classifier*`; `keras_reid.load(..., num_classes=N)`
      replaces exactly those.

    Subclasses build a functional `self.network` whose outputs are a dict holding
    `"embedding"`, the logits heads and, optionally, per-sample auxiliary losses named
    in `self.auxiliary_loss_weights` and a `"metric_embedding"` (BNNeck: the training
    `"embedding"` that metric losses see, when it differs from the inference one).

    `compile(optimizer, loss=None)` defaults to `keras_reid.losses.ReIDLoss()`
    (label-smoothed cross-entropy averaged over the heads); any callable
    `loss(labels, outputs_dict, logit_names)` or a standard Keras loss (applied to every
    head and averaged) is accepted.
    """

    def __init__(self, num_classes=None, image_shape=(256, 128, 3), **kwargs):
        super().__init__(**kwargs)
        if num_classes is not None and int(num_classes) < 1:
            raise ValueError(f"num_classes must be a positive integer or None, got {num_classes}.")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.logit_names = []
        self.auxiliary_loss_weights = {}
        self._reid_loss = None

    # -- construction helpers for subclasses ---------------------------------------------
    def _set_network(self, inputs, outputs, logit_names, auxiliary_loss_weights=None):
        self.network = keras.Model(inputs, outputs, name="network")
        self.logit_names = list(logit_names)
        self.auxiliary_loss_weights = dict(auxiliary_loss_weights or {})
        self.built = True

    def _classifier(self, name=CLASSIFIER_PREFIX):
        """The identity classifier (float32 logits even under mixed precision)."""
        return keras.layers.Dense(
            self.num_classes,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
            name=name,
            dtype="float32",
        )

    @property
    def embedding_dim(self):
        return int(self.network.output["embedding"].shape[-1])

    def classifier_layers(self):
        """The identity classifier layers (`classifier*`), which `num_classes` replaces."""
        return [layer for layer in self.network.layers if layer.name.startswith(CLASSIFIER_PREFIX)]

    # -- forward --------------------------------------------------------------------------
    def call(self, inputs, training=None):
        outputs = self.network(inputs, training=training)
        if not training:
            return ops.cast(outputs["embedding"], "float32")
        for term in self._auxiliary_losses(outputs):
            self.add_loss(term)
        return self._training_outputs(outputs)

    def _auxiliary_losses(self, outputs):
        """The weighted auxiliary terms (e.g. StRA's diversity loss) of the network outputs."""
        return [
            weight * ops.mean(ops.cast(outputs[name], "float32"))
            for name, weight in self.auxiliary_loss_weights.items()
            if weight
        ]

    def _training_outputs(self, outputs):
        # BNNeck models train their metric loss on the feature before the neck's BatchNorm.
        result = {"embedding": outputs.get("metric_embedding", outputs["embedding"])}
        for name in self.logit_names:
            result[name] = outputs[name]
        return result

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.embedding_dim)

    # -- training -------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, **kwargs):
        self._reid_loss = ReIDLoss() if loss is None else loss
        super().compile(optimizer=optimizer, loss=None, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The training objective: the compiled ReID loss on the heads, plus `model.losses`.

        `fit` passes the training outputs (a dict). `evaluate` passes the inference
        embedding, from which no identity loss follows, so the heads are recomputed in
        inference mode (BatchNorm with running statistics, no dropout) together with the
        weighted auxiliary terms: `evaluate` reports the same objective as `fit`, on
        held-out data. `sample_weight` weighs each sample's loss terms (`Σ w·l / batch`,
        Keras' reduction for standard losses); a custom loss that cannot take it raises
        rather than ignoring it.
        """
        losses = []
        if y is not None and not isinstance(y_pred, dict) and x is not None and self.logit_names:
            outputs = self.network(x, training=False)
            y_pred = self._training_outputs(outputs)
            losses.extend(self._auxiliary_losses(outputs))
        if isinstance(y_pred, dict) and y is not None:
            loss_fn = self._reid_loss or ReIDLoss()
            if isinstance(loss_fn, ReIDLoss) or getattr(loss_fn, "reid_outputs", False):
                if sample_weight is None:
                    losses.append(loss_fn(y, y_pred, self.logit_names))
                else:
                    try:
                        losses.append(loss_fn(y, y_pred, self.logit_names, sample_weight=sample_weight))
                    except TypeError as e:
                        if "sample_weight" not in str(e):
                            raise
                        raise ValueError(
                            f"The loss {type(loss_fn).__name__} does not accept sample_weight: give it a "
                            "`sample_weight=None` argument or train without sample weights."
                        ) from None
            else:
                # A standard Keras loss: applied to every head and averaged.
                fn = keras.losses.get(loss_fn)
                heads = [weighted_mean(ops.cast(fn(y, y_pred[name]), "float32"), sample_weight) for name in self.logit_names]
                losses.append(ops.mean(ops.stack(heads)))
        for extra in self.losses:
            losses.append(ops.cast(extra, "float32"))
        if not losses:
            return ops.zeros(())
        # Under tf.distribute each replica's loss is divided by the replica count, as Keras'
        # own compute_loss does; otherwise gradients are summed over replicas.
        return scale_loss_for_distribution(ops.sum(ops.stack(losses)))

    # -- serialisation --------------------------------------------------------------------
    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "image_shape": list(self.image_shape),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
