"""`keras_reid.training.train`: recipe → model, optimizer, schedule, loss, data → `model.fit`.

Resumability. Every epoch ends with a checkpoint (`<output>/checkpoints/ckpt-NNNN/`: every
model variable, RNG seed states included, and every optimizer variable, keyed by path, plus
`state.json`); `<output>/checkpoints/latest.json` is replaced atomically afterwards, so a
run killed at any moment resumes from the last complete epoch. The input pipeline is
stateless: the images, order and augmentation of epoch `e` depend only on `(seed, e)`
(sampler epochs drawn from `np.random.default_rng([seed, e, k])`, augmentation seeded by
`[seed, global sample index]`), so a resumed run sees exactly the batches the straight run
would have seen and reproduces it bit for bit on a deterministic backend. Two streams
implement it (`input_pipeline`): `tf_data` (`keras_reid.data.training_stream`, the default
where TensorFlow is installed) and `numpy` (`keras_reid.data.numpy_stream`, for JAX or
PyTorch machines without TensorFlow): the same images in the same order, the same
augmentation distributions from other random draws.

Freezing (`recipe.fixbase_epochs`). Keras 3 captures the trainable variables when a model
is compiled (and JAX's `stateless_apply` needs the optimizer built on exactly those), so the
run is split into phases with one `fit` each: the fixbase phase sets `trainable=False` on
every layer outside `recipe.open_layers` (their BatchNorms then run in inference mode, as
torchreid's `open_specified_layers` puts them in `eval()`), builds an optimizer on the open
variables and compiles; the full phase unfreezes, builds an optimizer on all variables,
copies the state of the variables it already had (`transfer_state_from`) and recompiles.
"""

import json
import logging
import os
import re
import shutil
import time

import keras
import numpy as np

from keras_reid.data.training_stream import compute_steps_per_epoch, epoch_indices, train_dataset  # noqa: F401
from keras_reid.training.checkpoints import (  # noqa: F401
    CHECKPOINT_DIR,
    LATEST,
    latest_checkpoint,
    restore_model,
    restore_optimizer,
    save_checkpoint,
)
from keras_reid.training.optimizers import EpochStepSchedule, TorchAdam, TorchSGD
from keras_reid.training.recipes import Recipe, get_recipe, recipe_for_architecture
from keras_reid.training.run_log import LOG_COLUMNS, LOG_FILE, append_row, read_log, truncate_log  # noqa: F401

logger = logging.getLogger("keras_reid.training")

INPUT_PIPELINES = ("auto", "tf_data", "numpy")


class TrainingConfigError(ValueError):
    """Training arguments that cannot work (a bad number, a resume with other settings,
    unreadable training images); the message names the argument or file and the fix."""



# -- evaluation -----------------------------------------------------------------------------
def evaluate(model, dataset, preprocessor, recipe, batch_size=64):
    """Query/gallery ranking metrics (fractions): mAP, mINP, rank1/5/10, by the recipe's
    metric and normalisation (`keras_reid.evaluation.evaluate_model`, the CLI's path)."""
    from keras_reid.evaluation import evaluate_model

    result = evaluate_model(
        model,
        dataset,
        metric=recipe.eval_metric,
        normalize=recipe.eval_normalize,
        preprocessor=preprocessor,
        batch_size=batch_size,
    )
    return {k: float(result[k]) for k in ("mAP", "mINP", "rank1", "rank5", "rank10")}


# -- callbacks ------------------------------------------------------------------------------
class EpochEndCallback(keras.callbacks.Callback):
    """Per epoch: optional evaluation, one CSV row, one checkpoint (in that order)."""

    def __init__(self, run, phase):
        super().__init__()
        self.run = run
        self.phase = phase
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        run = self.run
        logs = logs if logs is not None else {}
        row = {"epoch": epoch + 1, "phase": self.phase, "lr": run.schedule.lr_at_epoch(epoch), "loss": float(logs.get("loss", np.nan))}
        done = epoch + 1
        if run.can_evaluate and (done == run.epochs or (run.eval_every and done % run.eval_every == 0)):
            metrics = evaluate(self.model, run.dataset, run.preprocessor, run.recipe)
            row.update(metrics)
            logs.update(metrics)
            run.last_metrics = dict(metrics, epoch=done)
        row["time_s"] = round(time.time() - self._start, 3)
        run.append_log(row)
        logger.info("epoch %d/%d (%s): %s", done, run.epochs, self.phase,
                    ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items() if k not in ("epoch", "phase")))
        state = {
            "epoch": done,
            "phase": self.phase,
            "seed": run.seed,
            "recipe": run.recipe.to_dict(),
            "steps_per_epoch": run.steps_per_epoch,
            "input_pipeline": run.input_pipeline,
            "last_metrics": run.last_metrics,
        }
        save_checkpoint(run.checkpoint_dir, self.model, self.model.optimizer, state)
        if run.stop_after_epoch is not None and done >= run.stop_after_epoch:
            raise _StopTraining(done)


class _StopTraining(Exception):
    """Raised by `stop_after_epoch` (simulates a killed run in tests)."""


# -- model / optimizer ----------------------------------------------------------------------
def set_trainable(model, open_layers=None):
    """`open_layers=None`: every layer trains; else only layers whose name matches a regex."""
    patterns = [re.compile(p) for p in (open_layers or ())]
    model.trainable = True
    for layer in model.network.layers:
        layer.trainable = open_layers is None or any(p.search(layer.name) for p in patterns)


def build_optimizer(recipe, steps_per_epoch, mixed_precision=False):
    schedule = EpochStepSchedule(recipe.lr, steps_per_epoch, recipe.lr_milestones, recipe.lr_gamma, recipe.warmup_epochs, recipe.warmup_factor)
    multipliers = {recipe.backbone_pattern: recipe.backbone_lr_mult} if recipe.backbone_lr_mult != 1.0 else None
    if recipe.optimizer == "adam":
        opt = TorchAdam(schedule, beta_1=recipe.adam_betas[0], beta_2=recipe.adam_betas[1], l2_weight_decay=recipe.weight_decay, lr_multipliers=multipliers)
    else:
        opt = TorchSGD(schedule, momentum=recipe.momentum, nesterov=recipe.nesterov, l2_weight_decay=recipe.weight_decay, lr_multipliers=multipliers)
    if mixed_precision:
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt, schedule


def build_loss(recipe, model):
    from keras_reid.losses import CombinedReIDLoss, ReIDLoss

    head_weights = model.default_head_weights() if hasattr(model, "default_head_weights") else None
    if recipe.triplet_weight:
        return CombinedReIDLoss(recipe.label_smoothing, head_weights, recipe.triplet_weight, recipe.triplet_margin)
    if head_weights is None and recipe.label_smoothing == 0.1:
        return None  # the model's default (ReIDLoss)
    return ReIDLoss(label_smoothing=recipe.label_smoothing, head_weights=head_weights)


def init_from_preset(model, handle, instance_norm_init="identity"):
    """Copies every layer of the preset with the same name and weight shapes (torchreid style).

    `handle` is anything `keras_reid.load` accepts, or an already loaded model.
    `instance_norm_init`: how an `InstanceNormalization` layer `X_in` that the preset lacks
    starts. "identity": its own initialisers (γ 1, β 0), so the block's pre-activation is
    the per-image standardised map and the pretrained BatchNorm's affine is lost;
    "batch_norm": γ, β of the preset's BatchNorm `X_bn` that it follows, so the block starts
    computing what the pretrained block computed wherever an image's statistics match
    the running ones (a warm start; `IN(BN(x))` does not depend on the BN's affine).
    Returns `(loaded, skipped)` layer-name lists; raises `PresetError` when the preset is missing.
    """
    import keras_reid
    from keras_reid.layers.instance_normalization import InstanceNormalization
    from keras_reid.utils.weights import transfer_weights

    if instance_norm_init not in ("identity", "batch_norm"):
        raise ValueError(f"instance_norm_init must be 'identity' or 'batch_norm', got {instance_norm_init!r}.")
    source = handle if isinstance(handle, keras.Model) else keras_reid.load(handle)
    loaded, missing = transfer_weights(source, model)
    src = {layer.name: layer for layer in source.network.layers}
    skipped = []
    by_name = {layer.name: layer for layer in model.network.layers}
    for name in missing:
        layer = by_name[name]
        bn = src.get(name[: -len("_in")] + "_bn") if name.endswith("_in") else None
        if (
            instance_norm_init == "batch_norm"
            and isinstance(layer, InstanceNormalization)
            and isinstance(bn, keras.layers.BatchNormalization)
            and tuple(bn.gamma.shape) == tuple(layer.gamma.shape)
        ):
            layer.gamma.assign(bn.gamma)
            layer.beta.assign(bn.beta)
            loaded.append(name)
        else:
            skipped.append(name)
    return loaded, skipped


def gpu_available():
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "torch":
            import torch

            return torch.cuda.is_available()
    except Exception:  # pragma: no cover - device probing failures mean "no GPU"
        return False
    return False


# -- the run --------------------------------------------------------------------------------
class _Run:
    def __init__(self, **kw):
        self.__dict__.update(kw)
        self.last_metrics = None
        self.metrics_before = None

    def append_log(self, row):
        append_row(self.output_dir, row)


def _phases(recipe, epochs):
    fixbase = min(int(recipe.fixbase_epochs), epochs)
    phases = []
    if fixbase:
        phases.append(("fixbase", 0, fixbase, tuple(recipe.open_layers)))
    if epochs > fixbase:
        phases.append(("full", fixbase, epochs, None))
    return phases


def _resolve_recipe(name):
    """A registered recipe, else the recipe of a registered architecture, else a clear error."""
    import difflib

    from keras_reid.models.registry import list_architectures
    from keras_reid.training.recipes import list_recipes

    try:
        return get_recipe(name)
    except ValueError:
        pass
    if name in list_architectures():
        return recipe_for_architecture(name)
    close = difflib.get_close_matches(str(name), list_recipes() + list_architectures(), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise TrainingConfigError(
        f"Unknown recipe {name!r}.{hint} Recipes: {', '.join(list_recipes())} (or an architecture name; "
        "keras-reid train --list-recipes)."
    )


def _input_size(model):
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is not None:
        return tuple(int(v) for v in preprocessor.image_size)
    shape = getattr(model, "image_shape", None)
    return tuple(int(v) for v in shape[:2]) if shape else None


def _check_positive(**values):
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or int(value) != value or int(value) < 1):
            raise TrainingConfigError(f"{name} must be a positive integer, got {value!r}.")


def _check_recipe(recipe):
    _check_positive(epochs=recipe.epochs, batch_size=recipe.batch_size, num_instances=recipe.num_instances)
    if recipe.lr <= 0:
        raise TrainingConfigError(f"lr must be positive, got {recipe.lr}.")
    if any(int(m) < 1 for m in recipe.lr_milestones):
        raise TrainingConfigError(f"lr_milestones must be epochs >= 1, got {list(recipe.lr_milestones)}.")
    if not 0 <= int(recipe.fixbase_epochs) <= recipe.epochs:
        raise TrainingConfigError(f"fixbase_epochs must lie in 0..{recipe.epochs}, got {recipe.fixbase_epochs}.")
    if min(recipe.image_size) < 16 or max(recipe.image_size) > 2048:
        raise TrainingConfigError(f"image_size must lie in 16..2048 pixels per side, got {list(recipe.image_size)}.")
    if recipe.sampler == "identity" and recipe.batch_size < 2 * recipe.num_instances:
        raise TrainingConfigError(
            f"batch_size {recipe.batch_size} holds fewer than 2 identities of num_instances {recipe.num_instances}."
        )


def _resume_changes(state, recipe, seed, steps, input_pipeline="tf_data"):
    """`{field: {"checkpoint", "now"}}` of what differs from the checkpoint's run."""
    changes = {}
    # Checkpoints written before the NumPy stream existed came from tf.data. The streams
    # draw their augmentation differently, so a switch changes the run.
    before_pipeline = state.get("input_pipeline", "tf_data")
    if before_pipeline != input_pipeline:
        changes["input_pipeline"] = {"checkpoint": before_pipeline, "now": input_pipeline}
    if int(state.get("seed", seed)) != int(seed):
        changes["seed"] = {"checkpoint": state.get("seed"), "now": int(seed)}
    before = state.get("recipe") or {}
    now = json.loads(json.dumps(recipe.to_dict()))
    for key in sorted(set(before) | set(now)):
        if key in ("sources", "notes"):
            continue
        if before.get(key) != now.get(key):
            changes[key] = {"checkpoint": before.get(key), "now": now.get(key)}
    if state.get("steps_per_epoch") != steps:
        changes["steps_per_epoch"] = {"checkpoint": state.get("steps_per_epoch"), "now": steps}
    return changes


def _preflight_images(data, skip_bad_images):
    """Decodes every training image once; bad files are named (and dropped when asked)."""
    from keras_reid.data import ReIDDataset, verify_images

    bad = verify_images(data.train)
    if not bad:
        return data
    names = "; ".join(reason for _, reason in bad[:3])
    more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
    if not skip_bad_images:
        raise TrainingConfigError(
            f"{len(bad)} training image(s) cannot be decoded: {names}{more}. Remove or replace them, or pass "
            "--skip-bad-images (skip_bad_images=True) to train without them."
        )
    logger.warning("Skipping %d undecodable training image(s): %s%s", len(bad), names, more)
    drop = {path for path, _ in bad}
    keep = [i for i, r in enumerate(data.train) if r.path not in drop]
    if not keep:
        raise TrainingConfigError(f"Every training image of {data.name!r} is undecodable.")
    from keras_reid.data.base import relabel

    domains = None if data.train_domains is None else [data.train_domains[i] for i in keep]
    train = relabel([data.train[i] for i in keep])
    return ReIDDataset(data.name, train, data.query, data.gallery, train_domains=domains, domain_names=data.domain_names)


def _resolve_input_pipeline(name):
    """"auto" is "tf_data" where TensorFlow is installed, else "numpy"; checks the name."""
    import importlib.util

    if name not in INPUT_PIPELINES:
        raise TrainingConfigError(f"input_pipeline must be one of {', '.join(INPUT_PIPELINES)}, got {name!r}.")
    # find_spec: no TensorFlow import here (the tf.data stream imports it when built).
    has_tf = importlib.util.find_spec("tensorflow") is not None
    if name == "tf_data" and not has_tf:
        raise TrainingConfigError(
            "input_pipeline 'tf_data' needs TensorFlow, which is not installed: use --input-pipeline numpy "
            "(input_pipeline='numpy') or pip install tensorflow-cpu."
        )
    if name == "auto":
        return "tf_data" if has_tf else "numpy"
    return name


def _train_stream(input_pipeline, data, recipe, preprocessor, seed, steps, first, end):
    """The training batches of epochs `[first, end)` from the chosen stream."""
    if input_pipeline == "numpy":
        from keras_reid.data.numpy_stream import numpy_train_dataset

        return numpy_train_dataset(data.train, recipe, preprocessor, seed, steps, first, end, data.train_domains)
    return train_dataset(data.train, recipe, preprocessor, seed, steps, first, end, data.train_domains)


def _load_dataset(dataset, dataset_root):
    from keras_reid.data import ReIDDataset, get_dataset

    if isinstance(dataset, ReIDDataset):
        return dataset
    if dataset_root is None and os.path.isdir(str(dataset)):
        return get_dataset("image_folder", dataset)
    return get_dataset(dataset, dataset_root)


def train(
    recipe,
    dataset,
    output_dir,
    dataset_root=None,
    epochs=None,
    batch_size=None,
    seed=0,
    resume=True,
    eval_every=None,
    max_steps_per_epoch=None,
    init_preset="recipe",
    mixed_precision=None,
    distribute=None,
    deterministic=True,
    stop_after_epoch=None,
    verbose="auto",
    write_preset=True,
    callbacks=None,
    allow_changes=False,
    preflight=True,
    skip_bad_images=False,
    tensorboard=False,
    input_pipeline="auto",
    **recipe_overrides,
):
    """Trains a ReID model with a recipe and writes a preset.

    Args:
        recipe: a `Recipe`, a recipe name or an architecture name (`list_recipes()`).
        dataset: a `keras_reid.data.ReIDDataset`, a dataset name (with `dataset_root`), or an
            `image_folder` root (`<root>/{train,query,gallery}/<identity>/*.jpg`).
        output_dir: where `log.csv`, `checkpoints/` and `preset/` are written.
        dataset_root: root folder of a named dataset.
        epochs, batch_size: override the recipe's.
        seed: seeds weights, sampling, augmentation and dropout.
        resume: continue from `output_dir/checkpoints` when present (else start over).
        eval_every: evaluate on query/gallery every N epochs (always after the last one)
            when the dataset has both splits; None: only at the end.
        max_steps_per_epoch: cap the steps of an epoch (quick runs).
        init_preset: "recipe" (the recipe's `init_preset`; skipped with a warning when not
            available), None (no init), or a preset handle (errors propagate). With a
            handle (fine-tuning) training runs at the preset's input size unless
            `image_size` is given, the preset is recorded as the run's `init_preset`, and
            the model is evaluated before the first epoch (`metrics_before`, log row 0).
        mixed_precision: None = mixed_float16 only when a GPU is present; True/False force.
        distribute: None, "data_parallel" (all local devices) or a `keras_reid.training.distribute`
            strategy object.
        deterministic: seeded, deterministic ops (`tf.config.experimental.enable_op_determinism`
            on TensorFlow).
        stop_after_epoch: raise after that epoch's checkpoint (tests: simulated kill).
        verbose: `fit` verbosity.
        write_preset: write `output_dir/preset` at the end.
        callbacks: extra Keras callbacks (run before the checkpointing callback).
        allow_changes: resume a checkpoint written with another seed or recipe (refused by
            default, since the run would not reproduce; the changes are recorded in the preset).
        preflight: decode every training image before the first step, so a corrupt file is
            reported by name (with `skip_bad_images=False`) instead of stopping an epoch.
        skip_bad_images: drop undecodable training images with a warning naming them.
        tensorboard: also write TensorBoard logs (loss, learning rate, evaluation metrics per
            epoch) to `output_dir/tensorboard` (`keras.callbacks.TensorBoard`).
        input_pipeline: "auto" (default: "tf_data" where TensorFlow is installed, else
            "numpy"), "tf_data" (`keras_reid.data.training_stream.train_dataset`) or "numpy"
            (`keras_reid.data.numpy_stream.numpy_train_dataset`, no TensorFlow needed; same
            images and order, same augmentation distributions, other random draws). A
            checkpoint resumes with the stream that wrote it (else `allow_changes`).
        **recipe_overrides: other `Recipe` fields.

    Returns a dict: `model`, `recipe`, `history` (log rows), `metrics` (last evaluation),
    `preset` (path or None), `epochs` (epochs completed).
    """
    from keras_reid.presets import PresetError, ReIDPreprocessor, save_preset
    from keras_reid.training.distribute import distribution_scope

    if isinstance(recipe, Recipe):
        recipe = recipe.replace()
    else:
        recipe = _resolve_recipe(recipe)
    _check_positive(epochs=epochs, batch_size=batch_size, eval_every=eval_every, max_steps_per_epoch=max_steps_per_epoch)
    if batch_size is not None:
        recipe_overrides["batch_size"] = int(batch_size)
    if epochs is not None:
        recipe_overrides["epochs"] = int(epochs)
        if "lr_milestones" not in recipe_overrides:
            # Keep the schedule's shape when the run is shortened/lengthened.
            scale = int(epochs) / recipe.epochs
            recipe_overrides["lr_milestones"] = tuple(sorted({max(1, round(m * scale)) for m in recipe.lr_milestones if round(m * scale) < int(epochs)}))
        if recipe.fixbase_epochs and "fixbase_epochs" not in recipe_overrides:
            # The frozen warm-up keeps its share of the run (8 of 100 epochs → 1 of 10).
            scale = int(epochs) / recipe.epochs
            recipe_overrides["fixbase_epochs"] = min(int(epochs) - 1, max(1, round(recipe.fixbase_epochs * scale))) if int(epochs) > 1 else 0
    if recipe_overrides:
        try:
            recipe = recipe.replace(**recipe_overrides)
        except (TypeError, ValueError) as e:
            raise TrainingConfigError(f"Invalid recipe override: {e}") from None
    init_source = None
    if init_preset not in ("recipe", None):
        # Fine-tuning a preset: train at its input size unless one is given, and record
        # the preset really used (not the recipe's default initialisation).
        import keras_reid

        init_source = keras_reid.load(init_preset)
        if "image_size" not in recipe_overrides:
            size = _input_size(init_source)
            if size and size != tuple(recipe.image_size):
                logger.warning(
                    "Training at %dx%d, the input size of the init preset %s (the recipe %s says %dx%d; "
                    "--image-size / image_size= overrides).", size[0], size[1], init_preset, recipe.name, *recipe.image_size,
                )
                recipe = recipe.replace(image_size=size)
        recipe = recipe.replace(init_preset=str(init_preset))
    elif init_preset is None:
        recipe = recipe.replace(init_preset=None)
    _check_recipe(recipe)
    input_pipeline = _resolve_input_pipeline(input_pipeline)
    if tensorboard:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise TrainingConfigError("--tensorboard needs the tensorboard package: pip install keras-reid[tensorboard]")
    epochs = recipe.epochs
    os.makedirs(output_dir, exist_ok=True)
    ckpt_dir = os.path.join(output_dir, CHECKPOINT_DIR)

    backend = keras.backend.backend()
    keras.utils.set_random_seed(int(seed))
    if deterministic and backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    if mixed_precision is None:
        mixed_precision = gpu_available()
    previous_policy = keras.mixed_precision.global_policy().name
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")

    data = _load_dataset(dataset, dataset_root)
    if not data.train:
        raise TrainingConfigError(f"Dataset {data.name!r} has no training images; check its train folder (e.g. {dataset_root or dataset}).")
    if preflight:
        data = _preflight_images(data, skip_bad_images)
    if not (data.query and data.gallery) and (eval_every or data.query or data.gallery):
        logger.warning(
            "Dataset %r has %d query and %d gallery images: training runs without evaluation (metrics stay empty).",
            data.name, len(data.query), len(data.gallery),
        )
    preprocessor = ReIDPreprocessor(recipe.image_size)
    steps = compute_steps_per_epoch(data.train, recipe, max_steps_per_epoch)
    resumed = latest_checkpoint(ckpt_dir) if resume else None
    if not resume:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    resume_changes = {}
    if resumed is not None:
        resume_changes = _resume_changes(resumed[1], recipe, seed, steps, input_pipeline)
        if resume_changes and not allow_changes:
            listed = "; ".join(f"{k}: {v['checkpoint']!r} -> {v['now']!r}" for k, v in resume_changes.items())
            raise TrainingConfigError(
                f"The checkpoint in {ckpt_dir} was written with other settings ({listed}); resuming would not "
                "reproduce the run. Pass the same settings, or --allow-changes (allow_changes=True) to resume "
                "with the new ones (recorded in the preset), or choose another --output."
            )
        if "steps_per_epoch" in resume_changes:
            raise TrainingConfigError(
                f"The checkpoint in {ckpt_dir} was written with {resumed[1]['steps_per_epoch']} steps/epoch, not "
                f"{steps} (another dataset, batch size or --max-steps-per-epoch); it cannot be resumed with them."
            )
    initial_epoch = resumed[1]["epoch"] if resumed else 0
    if initial_epoch >= epochs and resumed:
        logger.warning("The checkpoint in %s is at epoch %d of %d: nothing left to train.", ckpt_dir, initial_epoch, epochs)
    log_path = os.path.join(output_dir, LOG_FILE)
    if resumed:
        truncate_log(log_path, initial_epoch)
        logger.info("Resuming %s from epoch %d (%s).", recipe.name, initial_epoch, resumed[0])
    elif os.path.exists(log_path):
        os.remove(log_path)

    run = _Run(
        recipe=recipe,
        dataset=data,
        preprocessor=preprocessor,
        output_dir=output_dir,
        checkpoint_dir=ckpt_dir,
        epochs=epochs,
        eval_every=eval_every,
        seed=int(seed),
        steps_per_epoch=steps,
        stop_after_epoch=stop_after_epoch,
        can_evaluate=bool(data.query) and bool(data.gallery),
        input_pipeline=input_pipeline,
    )
    if resumed:
        run.last_metrics = resumed[1].get("last_metrics")
    try:
        with distribution_scope(distribute):
            import keras_reid

            model = keras_reid.build(
                recipe.architecture,
                num_classes=data.num_train_pids,
                image_shape=tuple(recipe.image_size) + (3,),
                **recipe.model_options,
            )
            handle = recipe.init_preset
            if handle and not resumed:
                try:
                    loaded, skipped = init_from_preset(
                        model, init_source if init_source is not None else handle, instance_norm_init=recipe.instance_norm_init
                    )
                    logger.info("Initialised %d layers from %s (%d kept their own init).", len(loaded), handle, len(skipped))
                except PresetError as e:
                    if init_preset != "recipe":
                        raise
                    logger.warning("Init preset %r unavailable (%s); training from the architecture's initialisers.", handle, e)
                if init_source is not None and run.can_evaluate:
                    # The starting point of a fine-tuning run, for the before/after comparison.
                    run.metrics_before = evaluate(model, data, preprocessor, recipe)
                    run.append_log(dict(run.metrics_before, epoch=0, phase="init"))
                    logger.warning("Before training (init preset %s): mAP %.4f, rank-1 %.4f.", handle, run.metrics_before["mAP"], run.metrics_before["rank1"])
            if resumed:
                restore_model(resumed[0], model)
            # The epoch-end callback adds the evaluation metrics to `logs`, so TensorBoard
            # (which runs after it) records them too.
            board = [keras.callbacks.TensorBoard(os.path.join(output_dir, "tensorboard"), write_graph=False)] if tensorboard else []
            phases = _phases(recipe, epochs)
            ckpt_phase = next((i for i, p in enumerate(phases) if p[1] < initial_epoch <= p[2]), None) if resumed else None
            previous = None
            for index, (phase, start, end, open_layers) in enumerate(phases):
                if end <= initial_epoch and index != ckpt_phase:
                    continue
                set_trainable(model, open_layers)
                optimizer, schedule = build_optimizer(recipe, steps, mixed_precision)
                optimizer.build(model.trainable_variables)
                if previous is not None:
                    inner = getattr(optimizer, "inner_optimizer", optimizer)
                    inner.transfer_state_from(previous)
                if index == ckpt_phase:
                    restore_optimizer(resumed[0], optimizer)
                run.schedule = schedule
                model.compile(optimizer=optimizer, loss=build_loss(recipe, model))
                previous = getattr(optimizer, "inner_optimizer", optimizer)
                if end <= initial_epoch:
                    continue
                first = max(start, initial_epoch)
                ds = _train_stream(input_pipeline, data, recipe, preprocessor, seed, steps, first, end)
                try:
                    model.fit(
                        ds,
                        initial_epoch=first,
                        epochs=end,
                        steps_per_epoch=steps,
                        callbacks=list(callbacks or []) + [EpochEndCallback(run, phase)] + board,
                        verbose=verbose,
                        shuffle=False,  # the sampler orders every epoch (stateless in seed and epoch)
                    )
                finally:
                    if hasattr(ds, "close"):
                        ds.close()  # the NumPy stream's decoding threads
            set_trainable(model, None)
    except _StopTraining as stop:
        return {"model": model, "recipe": recipe, "history": read_log(output_dir), "metrics": run.last_metrics, "preset": None, "epochs": stop.args[0]}
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)

    preset_dir = None
    if write_preset:
        preset_dir = os.path.join(output_dir, "preset")
        metadata = {
            "name": f"{recipe.architecture}_{data.name}",
            "training": {
                "recipe": recipe.to_dict(),
                "dataset": data.name,
                "num_train_ids": data.num_train_pids,
                "epochs_run": epochs,
                "steps_per_epoch": steps,
                "seed": int(seed),
                "resumed_with_changes": resume_changes or None,
                "backend": backend,
                "input_pipeline": input_pipeline,
                "mixed_precision": bool(mixed_precision),
            },
            "metrics": run.last_metrics,
            "metrics_before": run.metrics_before,
        }
        save_preset(model, preset_dir, preprocessor=preprocessor, metadata=metadata)
    return {
        "model": model,
        "recipe": recipe,
        "history": read_log(output_dir),
        "metrics": run.last_metrics,
        "metrics_before": run.metrics_before,
        "preset": preset_dir,
        "epochs": epochs,
    }
