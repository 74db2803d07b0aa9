"""A linear layer and the BatchNorm after it, run as one linear layer at inference."""

import keras
from keras import ops


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
    >>> want = bn(conv(x), training=False)
    >>> bool(np.allclose(BatchNormFoldedLinear(conv, bn)(x), want, atol=1e-5))
    True

    Reference: Jacob et al., "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference", CVPR 2018 (batch normalisation folding).
    """

    def __init__(self, linear, batch_norm, **kwargs):
        kwargs.setdefault("name", linear.name)
        kwargs.setdefault("dtype", linear.dtype_policy)
        super().__init__(**kwargs)
        if type(linear) not in (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense):
            raise TypeError(f"Cannot fold a BatchNorm into a {type(linear).__name__} (Conv2D, DepthwiseConv2D or Dense).")
        if linear.activation is not keras.activations.linear:
            raise ValueError(f"{linear.name} has an activation: the BatchNorm after it cannot be folded into it.")
        self.linear = linear
        self.batch_norm = batch_norm
        self.built = True

    def _folded(self):
        bn = self.batch_norm
        scale = ops.rsqrt(ops.cast(bn.moving_variance, "float32") + bn.epsilon)
        if bn.scale:
            scale = scale * ops.cast(bn.gamma, "float32")
        bias = -ops.cast(bn.moving_mean, "float32")
        if self.linear.use_bias:
            bias = bias + ops.cast(self.linear.bias, "float32")
        bias = bias * scale
        if bn.center:
            bias = bias + ops.cast(bn.beta, "float32")
        kernel = ops.cast(self.linear.kernel, "float32")
        if isinstance(self.linear, keras.layers.DepthwiseConv2D):
            # Output channel c * depth_multiplier + m comes from kernel[..., c, m].
            scale = ops.reshape(scale, kernel.shape[-2:])
        return ops.cast(kernel * scale, self.compute_dtype), ops.cast(bias, self.compute_dtype)

    def call(self, inputs):
        kernel, bias = self._folded()
        layer = self.linear
        if isinstance(layer, keras.layers.Dense):
            return ops.matmul(inputs, kernel) + bias
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            outputs = ops.depthwise_conv(
                inputs, kernel, strides=layer.strides, padding=layer.padding,
                dilation_rate=layer.dilation_rate, data_format=layer.data_format,
            )
        else:
            outputs = layer.convolution_op(inputs, kernel)
        return outputs + bias

    def compute_output_shape(self, input_shape):
        return self.linear.compute_output_shape(input_shape)
