import keras
from keras import ops

from keras_reid.api_export import keras_reid_export


@keras_reid_export
class InstanceNormalization(keras.layers.Layer):
    """Affine instance normalisation of NHWC feature maps (PyTorch `InstanceNorm2d(affine=True)`).

    Every image and channel is normalised by its own mean and (biased) variance over H×W,
    then scaled by `gamma` and shifted by `beta` (per channel, initialised to 1 and 0).
    Numerically this is Keras' `GroupNormalization(groups=channels)`; it is written out
    because the direct per-channel reduction trains about twice as fast on CPU.
    Statistics are computed in float32 under mixed precision.

    Args:
        epsilon: added to the variance (PyTorch's 1e-5).

    Example:
    >>> import keras, numpy as np
    >>> y = keras.ops.convert_to_numpy(InstanceNormalization()(np.random.rand(2, 8, 4, 3).astype("float32")))
    >>> bool(np.allclose(y.mean(axis=(1, 2)), 0, atol=1e-5))
    True

    Reference: Ulyanov et al., "Instance Normalization", arXiv:1607.08022; used for
    domain generalisation in ReID by DualNorm (Jia et al., BMVC 2019, arXiv:1905.03422).
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, x):
        dtype = x.dtype
        x = ops.cast(x, "float32")
        # One pass over the map for both moments, on values shifted by each map's first
        # pixel: the variance is unchanged and E[d²] − E[d]² no longer cancels the digits
        # a large mean would (clamped: it can still round below 0).
        shift = x[:, :1, :1, :]
        d = x - shift
        d_mean = ops.mean(d, axis=(1, 2), keepdims=True)
        variance = ops.maximum(ops.mean(ops.square(d), axis=(1, 2), keepdims=True) - ops.square(d_mean), 0.0)
        mean = d_mean + shift
        # The affine map folded into one scale and shift per image and channel.
        scale = ops.rsqrt(variance + self.epsilon) * ops.cast(self.gamma, "float32")
        shift = ops.cast(self.beta, "float32") - mean * scale
        return ops.cast(x * scale + shift, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
