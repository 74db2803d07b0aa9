"""Presets: the folder format, the built-in registry, Hub download and upload, and `keras_reid.load`."""

from keras_reid.presets.errors import (
    PresetDownloadError,
    PresetError,
    PresetFormatError,
    PresetIntegrityError,
    PresetNotFoundError,
    PresetUnavailableError,
    PresetUploadError,
)
from keras_reid.presets.loader import load
from keras_reid.presets.preprocessor import ReIDPreprocessor
from keras_reid.presets.preset_io import load_reference_tensors, save_preset, verify_preset_files
from keras_reid.presets.registry import list_presets
from keras_reid.presets.upload import upload_preset
