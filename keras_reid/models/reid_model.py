import weakref

import keras
from keras import ops
from keras.src.losses.loss import scale_loss_for_distribution

from keras_reid.api_export import keras_reid_export
from keras_reid.layers.batch_norm_folded_linear import batch_norm_folding, batch_norm_folding_active
from keras_reid.losses.cross_entropy import weighted_mean
from keras_reid.utils.normalization import l2_normalize
from keras_reid.losses.reid_loss import ReIDLoss

CLASSIFIER_PREFIX = "classifier"
# model -> (its network, that network's BatchNorm-folded view); weak keys: dies with the model.
_FOLDED_NETWORKS = weakref.WeakKeyDictionary()


@keras_reid_export
class ReIDModel(keras.Model):
    """Base class of every keras_reid architecture: the ReID model contract.

    - **Input**: NHWC float images already resized to `image_shape` and normalised by
      the preset's preprocessor (`keras_reid.ReIDPreprocessor`).
    - **Inference** (`model(x)`, `model.predict(x)`): the embedding the upstream code uses
      at test time, a float32 tensor `(batch, embedding_dim)`. `predict` runs the
      network with its BatchNorms folded into the convolutions (`folded_network()`):
      the same values to float32 rounding, faster.
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

    **End-to-end models** (what `keras_reid.load` returns): with `preprocessing` (a
    `keras_reid.layers.ImagePreprocessing`, the preset's `preprocessor.json`) the model
    takes raw RGB images instead — uint8 or float 0–255, any size `(N, h, w, 3)` — and
    resizes and normalises them itself, in `model(x)`, `predict`, `fit`, `evaluate`, a
    `.keras` file and `model.export(...)`; with `normalize_embedding=True` the inference
    output is L2-normalised (what `keras_reid.FeatureExtractor` returns). Both default
    off, giving the contract above (`keras_reid.load(..., include_preprocessing=False)`).

    `compile(optimizer, loss=None)` defaults to `keras_reid.losses.ReIDLoss()`
    (label-smoothed cross-entropy averaged over the heads); any callable
    `loss(labels, outputs_dict, logit_names)` or a standard Keras loss (applied to every
    head and averaged) is accepted.
    """

    def __init__(self, num_classes=None, image_shape=(256, 128, 3), preprocessing=None, normalize_embedding=False, **kwargs):
        super().__init__(**kwargs)
        if num_classes is not None and int(num_classes) < 1:
            raise ValueError(f"num_classes must be a positive integer or None, got {num_classes}.")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.image_shape = tuple(int(d) for d in image_shape)
        if isinstance(preprocessing, dict):
            preprocessing = keras.saving.deserialize_keras_object(preprocessing)
        self.preprocessing = None
        self.normalize_embedding = False
        if preprocessing is not None:
            self.set_preprocessing(preprocessing, normalize_embedding)
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

    def set_preprocessing(self, preprocessing, normalize_embedding=True):
        """Makes the model end-to-end (raw images in), or bare again with `None`.

        Args:
            preprocessing: a `keras_reid.layers.ImagePreprocessing`, a
                `keras_reid.ReIDPreprocessor` (a preset's `preprocessor.json`), or None
                (the bare contract: normalised input, raw embedding).
            normalize_embedding: L2-normalise the inference embedding (ignored with None).

        Returns the model. The weights are untouched: only what happens before and after
        the network changes.
        """
        from keras_reid.layers.image_preprocessing import ImagePreprocessing

        if preprocessing is not None:
            if not isinstance(preprocessing, ImagePreprocessing):
                preprocessing = ImagePreprocessing.from_preprocessor(preprocessing)
            if tuple(preprocessing.image_size) != self.image_shape[:2]:
                raise ValueError(
                    f"The preprocessing resizes to {tuple(preprocessing.image_size)} but the model expects "
                    f"{self.image_shape[:2]} inputs."
                )
        self.preprocessing = preprocessing
        self.normalize_embedding = bool(normalize_embedding) and preprocessing is not None
        # Keras caches the traced predict/train/test steps: drop them so the next call traces
        # the model as it is now.
        self.predict_function = self.train_function = self.test_function = None
        return self

    def network_embedding(self, inputs):
        """The bare contract's embedding: inference on inputs already resized and
        normalised, float32 and not L2-normalised, whether or not the model is end-to-end
        (the reference tensors of presets and the conversion parity checks use it)."""
        return ops.cast(self.network(inputs, training=False)["embedding"], "float32")

    # -- forward --------------------------------------------------------------------------
    def _network_outputs(self, inputs, training=None):
        if self.preprocessing is not None:
            inputs = self.preprocessing(inputs)
        if not training and batch_norm_folding_active():  # predict: the folded view
            return self.folded_network()(inputs)
        return self.network(inputs, training=training)

    def call(self, inputs, training=None):
        outputs = self._network_outputs(inputs, training=training)
        if not training:
            return self._inference_embedding(outputs)
        for term in self._auxiliary_losses(outputs):
            self.add_loss(term)
        return self._training_outputs(outputs)

    def _inference_embedding(self, outputs):
        embedding = ops.cast(outputs["embedding"], "float32")
        if self.normalize_embedding:
            embedding = l2_normalize(embedding)
        return embedding

    def folded_network(self):
        """The network's inference view with its BatchNorms folded (cached).

        `keras_reid.utils.batch_norm_folding.fold_batch_norm(self.network)`: the same
        outputs to float32 rounding, faster on CPU; it reads the model's variables on every
        call, so it follows training. `predict`, `predict_on_batch` and `FeatureExtractor` run it.
        """
        from keras_reid.utils.batch_norm_folding import fold_batch_norm

        cached = _FOLDED_NETWORKS.get(self)
        if cached is None or cached[0] is not self.network:  # the network may be rebuilt
            cached = (self.network, fold_batch_norm(self.network))
            _FOLDED_NETWORKS[self] = cached  # outside the model: not a tracked sublayer
        return cached[1]

    def predict(self, *args, **kwargs):
        # The folded view is built here, eagerly, and `call` uses it while predict traces
        # and runs (the library's fast inference path); `model(x)` keeps the plain layers.
        self.folded_network()
        with batch_norm_folding():
            return super().predict(*args, **kwargs)

    def predict_on_batch(self, x):
        self.folded_network()
        with batch_norm_folding():
            return super().predict_on_batch(x)

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
            outputs = self._network_outputs(x, training=False)
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

    # -- export ---------------------------------------------------------------------------
    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Writes an inference artifact: a TensorFlow SavedModel, ONNX or TFLite (LiteRT) file.

        The artifact computes `model(x)` in inference mode. For an end-to-end model (what
        `keras_reid.load` returns) that is the whole pipeline — float32 RGB images of
        0–255 values and any size `(N, h, w, 3)` in, L2-normalised embeddings out — so a
        deployer needs no keras_reid code; a bare model takes its normalised
        `(N, *image_shape)` input.

        Args:
            filepath: a folder ("tf_saved_model") or file path ("onnx", "litert").
            format: "tf_saved_model" (serving signature `serve`), "onnx" (needs `tf2onnx`
                on TensorFlow/JAX, `onnxscript` on PyTorch) or "litert" / "tflite" (TensorFlow
                backend; needs `ai-edge-litert` to run the file), or any other format
                `keras.Model.export` knows.
            verbose: print what was written.
            input_signature: default: one float32 input, `(None, None, None, 3)` for an
                end-to-end model, `(None, *image_shape)` for a bare one.
            **kwargs: passed to `keras.Model.export`.

        Example:
        >>> import keras_reid
        >>> model = keras_reid.load("mobilenetv2_multisource")  # doctest: +SKIP
        >>> model.export("reid_savedmodel")  # doctest: +SKIP
        """
        if format == "tflite":
            format = "litert"
        if input_signature is None:
            shape = (None, None, None, 3) if self.preprocessing is not None else (None, *self.image_shape)
            input_signature = [keras.InputSpec(shape=shape, dtype="float32")]
        return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    # -- serialisation --------------------------------------------------------------------
    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "image_shape": list(self.image_shape),
        }
        # Only when set, so that presets' config.json files stay what they were.
        if self.preprocessing is not None:
            config["preprocessing"] = keras.saving.serialize_keras_object(self.preprocessing)
        if self.normalize_embedding:
            config["normalize_embedding"] = True
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

