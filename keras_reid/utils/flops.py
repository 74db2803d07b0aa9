"""FLOP counting of a Keras model through XLA's cost analysis (JAX backend)."""

import keras
import numpy as np


def count_flops(model, batch_size=1):
    """Floating-point operations of one inference forward pass, from XLA's cost model.

    Counts what XLA compiles (a multiply-add is 2 FLOPs; divide by 2 for MACs, the unit
    the ReID papers' "FLOPs" usually means). Needs the JAX backend.
    """
    if keras.backend.backend() != "jax":
        raise RuntimeError("count_flops needs KERAS_BACKEND=jax.")
    import jax

    x = np.zeros((batch_size,) + tuple(model.image_shape), "float32")
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def forward(trainable, non_trainable, x):
        return model.stateless_call(trainable, non_trainable, x, training=False)[0]

    compiled = jax.jit(forward).lower(trainable, non_trainable, x).compile()
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0]
    return float(analysis["flops"])
