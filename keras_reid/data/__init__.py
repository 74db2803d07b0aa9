"""Datasets, `tf.data` input pipelines and P×K sampling for ReID training and evaluation."""

from keras_reid.data.augmentation import ReIDAugmentation, torchreid_random_erasing
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
