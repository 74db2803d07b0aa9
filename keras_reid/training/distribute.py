"""Data-parallel training across local devices, per backend.

* JAX: `keras.distribution.DataParallel(devices=jax.devices())` (variables replicated,
  batches sharded along the batch axis; the batch size must be divisible by the device
  count).
* TensorFlow: `tf.distribute.MirroredStrategy` (build, compile and fit inside its scope).
* torch: not supported by keras_reid (use one device); raises.

Build the model, the optimizer and compile **inside** `distribution_scope(...)`; the trainer
does so.

Example:
>>> from keras_reid.training.distribute import distribution_scope
>>> with distribution_scope(None):  # no distribution: a no-op
...     pass
"""

import contextlib

import keras


def local_devices():
    """The accelerator devices of the backend (CPUs when there is none)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.devices()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return gpus or tf.config.list_logical_devices("CPU")
    return []


def data_parallel(devices=None):
    """The backend's data-parallel object: a Keras `DataParallel` (JAX) or a `MirroredStrategy` (TF)."""
    backend = keras.backend.backend()
    if backend == "jax":
        return keras.distribution.DataParallel(devices=devices or local_devices())
    if backend == "tensorflow":
        import tensorflow as tf

        names = [d.name if hasattr(d, "name") else str(d) for d in (devices or local_devices())]
        return tf.distribute.MirroredStrategy(devices=names)
    raise NotImplementedError(
        f"Data-parallel training is implemented for the jax and tensorflow backends, not {backend!r}."
    )


@contextlib.contextmanager
def distribution_scope(distribute=None):
    """Context in which a model is built, compiled and fit with `distribute`.

    Args:
        distribute: None/"none" (no-op), "data_parallel" (all local devices), a
            `keras.distribution.Distribution` or a `tf.distribute.Strategy`.
    """
    if distribute in (None, "none", False):
        yield None
        return
    if distribute == "data_parallel":
        distribute = data_parallel()
    from keras.src.distribution.distribution_lib import Distribution

    if isinstance(distribute, Distribution):
        with distribute.scope():
            yield distribute
        return
    scope = getattr(distribute, "scope", None)
    if scope is None:
        raise TypeError(f"Unsupported distribute value {distribute!r}.")
    with scope():
        yield distribute
