"""Training: recipes (hyper-parameters with sources), a resumable trainer, data parallelism, CLI.

Attributes load on first use (PEP 562), as in `keras_reid`: the architecture families register
their recipes by importing `keras_reid.training.recipes`, which must not pull in the trainer's
`tf.data` pipeline (and TensorFlow) for programs on the JAX or PyTorch backend.
"""

import importlib

_LAZY = {
    "add_train_arguments": "keras_reid.training.cli",
    "cli_train": "keras_reid.training.cli",
    "data_parallel": "keras_reid.training.distribute",
    "distribution_scope": "keras_reid.training.distribute",
    "EpochStepSchedule": "keras_reid.training.optimizers",
    "TorchAdam": "keras_reid.training.optimizers",
    "TorchSGD": "keras_reid.training.optimizers",
    "Recipe": "keras_reid.training.recipes",
    "architectures_without_recipe": "keras_reid.training.recipes",
    "get_recipe": "keras_reid.training.recipes",
    "list_recipes": "keras_reid.training.recipes",
    "recipe_for_architecture": "keras_reid.training.recipes",
    "register_recipe": "keras_reid.training.recipes",
    "evaluate": "keras_reid.training.trainer",
    "read_log": "keras_reid.training.trainer",
    "set_trainable": "keras_reid.training.trainer",
    "train": "keras_reid.training.trainer",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_reid.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
