"""The layer/model test kit (after KerasHub's `TestCase`), shared by every test module.

Each helper checks a contract of DESIGN.md and fails loudly; use them for every new
layer and model, on every backend (CI runs the suite with KERAS_BACKEND set to
tensorflow, jax and torch).
"""

import json
import os
import tempfile

import keras
import numpy as np
from keras import ops


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def assert_max_abs_close(name, got, want, tol):
    """Same shapes and max |got − want| <= tol (the parity criterion); prints the figure."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    diff = float(np.abs(got - want).max())
    print(f"{name}: max abs diff {diff:.3g} (max |want| {float(np.abs(want).max()):.3g})")
    assert diff <= tol, f"{name}: {diff:.3g} > {tol}"
    return got, want


def _first(x):
    return x[0] if isinstance(x, (tuple, list)) else x


def run_serialization_test(obj):
    """`get_config → from_config → get_config` gives the same JSON."""
    config = obj.get_config()
    json.dumps(config)  # must be JSON-serialisable
    revived = obj.__class__.from_config(config)
    assert json.dumps(revived.get_config(), sort_keys=True, default=str) == json.dumps(
        config, sort_keys=True, default=str
    )
    serialized = keras.saving.serialize_keras_object(obj)
    assert serialized["registered_name"].startswith("keras_reid>"), serialized["registered_name"]
    return revived


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_num_trainable_weights=None,
    run_training_check=True,
    run_mixed_precision_check=True,
):
    """Config round-trip, symbolic and eager calls, a fit step and fp16/bf16 without NaN.

    `expected_output_shape` is a tuple, or a list of tuples for multi-output layers.
    """
    layer = layer_cls(**init_kwargs)
    run_serialization_test(layer)

    def check_shapes(outputs):
        outs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
        exp = expected_output_shape if isinstance(expected_output_shape, list) else [expected_output_shape]
        assert len(outs) == len(exp)
        for out, shape in zip(outs, exp):
            assert tuple(out.shape) == tuple(shape), (tuple(out.shape), shape)

    # Symbolic call.
    symbolic_in = keras.KerasTensor(input_data.shape, dtype="float32")
    check_shapes(layer_cls(**init_kwargs)(symbolic_in))
    # Eager call.
    outputs = layer(input_data)
    check_shapes(outputs)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights

    # Reload from config gives the same outputs once weights are copied.
    revived = layer_cls.from_config(layer.get_config())
    revived(input_data)
    revived.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(_first(revived(input_data))), to_numpy(_first(outputs)), atol=1e-6)

    if run_training_check:
        inputs = keras.Input(input_data.shape[1:])
        out = _first(layer_cls(**init_kwargs)(inputs))
        model = keras.Model(inputs, out)
        model.compile(optimizer="sgd", loss="mse")
        target = np.zeros(tuple(out.shape[1:]), "float32")[None].repeat(len(input_data), 0)
        history = model.fit(input_data, target, epochs=1, batch_size=len(input_data), verbose=0)
        assert np.isfinite(history.history["loss"][0])

    if run_mixed_precision_check:
        for policy in ("mixed_float16", "mixed_bfloat16"):
            mp_layer = layer_cls(**{**init_kwargs, "dtype": policy})
            mp_out = mp_layer(input_data)
            for out in mp_out if isinstance(mp_out, (tuple, list)) else [mp_out]:
                arr = to_numpy(ops.cast(out, "float32"))
                assert np.all(np.isfinite(arr)), f"non-finite output under {policy}"
    return layer


def run_model_saving_test(model, input_data, atol=1e-5):
    """`.keras` save/load round-trip: same class, same config, allclose outputs."""
    expected = to_numpy(model(input_data, training=False))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
    assert restored.__class__ is model.__class__
    assert restored.get_config() == model.get_config()
    np.testing.assert_allclose(to_numpy(restored(input_data, training=False)), expected, atol=atol)
    return restored


def run_reid_model_test(model, input_data, labels, expected_embedding_dim):
    """The ReID model contract: inference embedding, training dict, a finite fit step."""
    embedding = model.predict(input_data, verbose=0)
    assert embedding.shape == (len(input_data), expected_embedding_dim)
    assert embedding.dtype == np.float32
    train_out = model(input_data, training=True)
    assert isinstance(train_out, dict) and "embedding" in train_out
    for name in model.logit_names:
        assert tuple(train_out[name].shape) == (len(input_data), model.num_classes), name
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    before = [to_numpy(v).copy() for v in model.trainable_variables]
    history = model.fit(input_data, labels, epochs=1, batch_size=len(input_data), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [to_numpy(v) for v in model.trainable_variables]
    assert any(not np.allclose(a, b) for a, b in zip(after, before)), "no weight changed in a fit step"
    run_serialization_test(model)
