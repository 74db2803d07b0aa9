"""Registration helper: every public layer and model is serialisable under the `keras_reid` package."""

import keras


def keras_reid_export(cls):
    """Register `cls` with Keras serialisation as `keras_reid>ClassName`."""
    return keras.saving.register_keras_serializable(package="keras_reid")(cls)
