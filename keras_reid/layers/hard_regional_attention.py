import keras
import numpy as np
from keras import ops

from keras_reid.api_export import keras_reid_export

# torchreid's initial bias: regions' (t_x, t_y) = (0, -0.75), (0, -0.25), (0, 0.25), (0, 0.75)
# before the tanh, i.e. four horizontal stripes from top to bottom.
INITIAL_BIAS = [0.0, -0.75, 0.0, -0.25, 0.0, 0.25, 0.0, 0.75]


@keras_reid_export
class HardRegionalAttention(keras.layers.Layer):
    """HA-CNN's hard regional attention: 4 region translations `(N, 4, 2)` = (t_x, t_y).

    Global average pooling → Dense(C→8) (`fc`) → tanh → reshape `(N, 4, 2)`. The model
    turns region i's translation into θ = [[1, 0, t_x], [0, 0.25, t_y]] (fixed scales) and
    crops with `AxisAlignedSampler`. Initialisation as torchreid: zero kernel, bias
    [0, −0.75, 0, −0.25, 0, 0.25, 0, 0.75] (so t_y starts at tanh(±0.75), tanh(±0.25)).
    The output is float32 (it parameterises sampling positions).

    Example:
    >>> import numpy as np
    >>> tuple(HardRegionalAttention()(np.random.rand(2, 8, 4, 32).astype("float32")).shape)
    (2, 4, 2)

    Reference: Li, Zhu, Gong, "Harmonious Attention Network for Person
    Re-Identification", CVPR 2018 (Fig. 2d); torchreid `hacnn.HardAttn`.
    """

    def build(self, input_shape):
        self.fc = keras.layers.Dense(
            8,
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(np.array(INITIAL_BIAS, "float32")),
            name="fc",
            dtype=self.dtype_policy,
        )
        self.fc.build((input_shape[0], input_shape[-1]))

    def call(self, inputs):
        x = ops.mean(inputs, axis=(1, 2))
        theta = ops.tanh(ops.cast(self.fc(x), "float32"))
        return ops.reshape(theta, (-1, 4, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4, 2)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], 4, 2), dtype="float32")
