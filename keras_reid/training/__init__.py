"""Training: recipes (hyper-parameters with sources), a resumable trainer, data parallelism, CLI."""

from keras_reid.training.cli import add_train_arguments, cli_train
from keras_reid.training.distribute import data_parallel, distribution_scope
from keras_reid.training.optimizers import EpochStepSchedule, TorchAdam, TorchSGD
from keras_reid.training.recipes import (
    Recipe,
    architectures_without_recipe,
    get_recipe,
    list_recipes,
    recipe_for_architecture,
    register_recipe,
)
from keras_reid.training.trainer import evaluate, read_log, set_trainable, train
