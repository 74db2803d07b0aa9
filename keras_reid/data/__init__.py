"""Datasets, input pipelines (`tf.data` and NumPy) and P×K sampling for ReID training and evaluation.

Importing the package needs no TensorFlow: the dataset parsers, the sampler and the NumPy
training stream are plain Python; the `tf.data` builders (`train_dataset`, `eval_dataset`)
import TensorFlow when called, and the `tf.data` augmentation names (`ReIDAugmentation`,
`torchreid_random_erasing`) load on first use (PEP 562), as in `keras_reid.training`.
"""

import importlib

from keras_reid.data.base import (
    DatasetLayoutError,
    DatasetParseError,
    ImageRecord,
    ReIDDataset,
    get_dataset,
    list_datasets,
    register_dataset,
)
from keras_reid.data.datasets import (
    cuhk01,
    cuhk03_np,
    cuhk03_partial,
    dukemtmcreid,
    image_folder,
    market1501,
    msmt17,
)
from keras_reid.data.dg_benchmarks import DG_BENCHMARKS, NUM_SPLITS, dg_splits, grid, ilids, prid, viper
from keras_reid.data.flat_folder import flat_folder, parse_flat_folder
from keras_reid.data.multi_source import DEFAULT_SOURCES, multi_source
from keras_reid.data.pipeline import (
    ImageDecodeError,
    eval_dataset,
    load_image,
    steps_per_epoch,
    train_dataset,
    verify_images,
)
from keras_reid.data.sampler import RandomIdentitySampler
from keras_reid.utils.images import IMAGE_EXTENSIONS

# Names whose modules import TensorFlow (augmentation) or Keras (numpy_stream) at the top.
_LAZY = {
    "ReIDAugmentation": "keras_reid.data.augmentation",
    "torchreid_random_erasing": "keras_reid.data.augmentation",
    "numpy_train_dataset": "keras_reid.data.numpy_stream",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_reid.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
