"""A linear layer and the BatchNorm after it, run as one linear layer at inference."""

import contextlib
import contextvars

import keras
from keras import ops

# Set while a folded inference view runs (`fold_batch_norm`, `ReIDModel.predict`): layers that
# hold a conv and its BatchNorm inside them (HA-CNN's conv blocks) then fold them too.
_FOLDING = contextvars.ContextVar("keras_reid_batch_norm_folding", default=False)
# The linear layers a following BatchNorm can be folded into (exact types: a subclass may
# compute something else with the same weights).
FOLDABLE_LINEAR_TYPES = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)


def batch_norm_folding_active():
    """True inside `batch_norm_folding()`: composite layers may run `folded_linear_call`."""
    return _FOLDING.get()


@contextlib.contextmanager
def batch_norm_folding():
    """Context in which composite layers run their conv + BatchNorm pairs folded (inference)."""
    token = _FOLDING.set(True)
    try:
        yield
    finally:
        _FOLDING.reset(token)


def conv_batch_norm(linear, batch_norm, inputs, training=None):
    """`batch_norm(linear(inputs))`, folded into one op inside `batch_norm_folding()` at inference.

    What composite layers (blocks holding a conv and its BatchNorm) call, so that a folded
    inference view (`keras_reid.utils.batch_norm_folding.fold_batch_norm`) folds them too.
    """
    if not training and batch_norm_folding_active():
        return folded_linear_call(linear, batch_norm, inputs)
    return batch_norm(linear(inputs), training=training)


def folded_linear_call(linear, batch_norm, inputs):
    """`batch_norm(linear(inputs), training=False)` as one linear op with folded weights.

    `linear` is a built `Conv2D`, `DepthwiseConv2D` or `Dense` without activation and
    `batch_norm` a `BatchNormalization` over the last axis; see `BatchNormFoldedLinear`.
    """
    bn = batch_norm
    dtype = linear.compute_dtype
    scale = ops.rsqrt(ops.cast(bn.moving_variance, "float32") + bn.epsilon)
    if bn.scale:
        scale = scale * ops.cast(bn.gamma, "float32")
    bias = -ops.cast(bn.moving_mean, "float32")
    if linear.use_bias:
        bias = bias + ops.cast(linear.bias, "float32")
    bias = bias * scale
    if bn.center:
        bias = bias + ops.cast(bn.beta, "float32")
    kernel = ops.cast(linear.kernel, "float32")
    if isinstance(linear, keras.layers.DepthwiseConv2D):
        # Output channel c * depth_multiplier + m comes from kernel[..., c, m].
        scale = ops.reshape(scale, kernel.shape[-2:])
    kernel, bias = ops.cast(kernel * scale, dtype), ops.cast(bias, dtype)
    if isinstance(linear, keras.layers.Dense):
        return ops.matmul(inputs, kernel) + bias
    if isinstance(linear, keras.layers.DepthwiseConv2D):
        outputs = ops.depthwise_conv(
            inputs, kernel, strides=linear.strides, padding=linear.padding,
            dilation_rate=linear.dilation_rate, data_format=linear.data_format,
        )
    else:
        outputs = linear.convolution_op(inputs, kernel)
    return outputs + bias


class BatchNormFoldedLinear(keras.layers.Layer):
    """Runs `bn(linear(x))` in inference mode as one conv / dense with folded weights.

    The inference step of `keras_reid.utils.batch_norm_folding.fold_batch_norm`: with `s = γ / √(σ² + ε)`
    from the BatchNorm's moving statistics, the output is the linear op with kernel
    `W · s` plus the bias `(b − μ) · s + β`: one convolution and one bias add (which
    TensorFlow's graph optimiser fuses with the following activation) instead of a
    convolution followed by the BatchNorm's elementwise ops. The folded weights are
    computed from the two source layers' variables on every call (a few operations on
    the weights, not on the activations), so they follow any change of the source
    model's weights; no copy exists to go stale. Same values as the two layers to
    float32 rounding. Inference only: it never updates the BatchNorm's statistics, and
    it is not serialised (save the source model instead).

    Args:
        linear: a built `Conv2D`, `DepthwiseConv2D` or `Dense` without activation.
        batch_norm: the built `BatchNormalization` (last axis) applied to its output.

    Example:
    >>> import keras, numpy as np
    >>> conv, bn = keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization()
    >>> x = np.random.rand(2, 8, 8, 3).astype("float32")
    >>> want = keras.ops.convert_to_numpy(bn(conv(x), training=False))
    >>> got = keras.ops.convert_to_numpy(BatchNormFoldedLinear(conv, bn)(x))
    >>> bool(np.allclose(got, want, atol=1e-5))
    True

    Reference: Jacob et al., "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference", CVPR 2018 (batch normalisation folding).
    """

    def __init__(self, linear, batch_norm, **kwargs):
        kwargs.setdefault("name", linear.name)
        kwargs.setdefault("dtype", linear.dtype_policy)
        super().__init__(**kwargs)
        if type(linear) not in FOLDABLE_LINEAR_TYPES:
            raise TypeError(f"Cannot fold a BatchNorm into a {type(linear).__name__} (Conv2D, DepthwiseConv2D or Dense).")
        if linear.activation is not keras.activations.linear:
            raise ValueError(f"{linear.name} has an activation: the BatchNorm after it cannot be folded into it.")
        self.linear = linear
        self.batch_norm = batch_norm
        self.built = True

    def call(self, inputs):
        return folded_linear_call(self.linear, self.batch_norm, inputs)

    def compute_output_shape(self, input_shape):
        return self.linear.compute_output_shape(input_shape)
