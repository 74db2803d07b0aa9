"""`model.export`: SavedModel, ONNX and TFLite (LiteRT) artifacts of an embedded preset
reproduce the Keras embedding on crops, preprocessing and L2-normalisation inside."""

import importlib.util
import pathlib

import keras
import numpy as np
import pytest
from PIL import Image

import keras_reid
from tests.test_case import assert_max_abs_close

SAMPLES = pathlib.Path(keras_reid.__file__).parent / "assets" / "samples"
PRESET = "mobilenetv2_multisource"


def _crops(paths, size):
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize(size)) for p in paths]).astype("float32")


@pytest.fixture(scope="module")
def model():
    return keras_reid.load(PRESET)


@pytest.fixture(params=["samples", "real"])
def crops(request):
    """Synthetic samples everywhere; real CUHK03 crops (two sizes) where the datasets are."""
    if request.param == "samples":
        return [_crops(sorted(SAMPLES.glob("*.jpg"))[:4], (64, 160))]
    root = request.getfixturevalue("datasets_root")
    paths = sorted((root / "cuhk03_labeled_partial" / "val").glob("*.jpg"))[:12]
    return [_crops(paths[:6], (90, 200)), _crops(paths[6:], (64, 128))]


def _needs(*modules):
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install keras-reid[export])")


def test_saved_model(model, crops, tmp_path):
    if keras.backend.backend() == "torch":
        pytest.skip("SavedModel export needs the TensorFlow or JAX backend")
    import tensorflow as tf

    model.export(str(tmp_path / "saved"), format="tf_saved_model", verbose=False)
    served = tf.saved_model.load(str(tmp_path / "saved"))
    for batch in crops:
        want = model.predict(batch, verbose=0)
        got = served.serve(tf.constant(batch)).numpy()
        assert_max_abs_close(f"SavedModel {batch.shape}", got, want, 1e-4)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_onnx(model, crops, tmp_path):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tested on TensorFlow (jax2tf/torch.onnx paths are Keras' own)")
    _needs("tf2onnx", "onnxruntime")
    import onnxruntime

    path = str(tmp_path / "model.onnx")
    model.export(path, format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for batch in crops:
        got = session.run(None, {name: batch})[0]
        assert_max_abs_close(f"ONNX {batch.shape}", got, model.predict(batch, verbose=0), 1e-4)


def test_tflite(model, crops, tmp_path):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("LiteRT export needs the TensorFlow backend")
    _needs("ai_edge_litert")
    from ai_edge_litert.interpreter import Interpreter

    path = str(tmp_path / "model.tflite")
    model.export(path, format="tflite", verbose=False)
    interpreter = Interpreter(model_path=path)
    inp = interpreter.get_input_details()[0]
    assert list(inp["shape_signature"]) == [-1, -1, -1, 3]  # any batch and image size
    for batch in crops:
        interpreter.resize_tensor_input(inp["index"], batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], batch)
        interpreter.invoke()
        got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        assert_max_abs_close(f"TFLite {batch.shape}", got, model.predict(batch, verbose=0), 1e-4)


def test_bare_model_exports_its_fixed_input(tmp_path):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("one backend suffices for the signature")
    import tensorflow as tf

    model = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
    model.export(str(tmp_path / "bare"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "bare"))
    x = np.random.default_rng(0).normal(size=(2, 64, 32, 3)).astype("float32")
    assert_max_abs_close("bare SavedModel", served.serve(tf.constant(x)).numpy(), model.predict(x, verbose=0), 1e-5)
    spec = served.serve.concrete_functions[0].structured_input_signature[0][0]
    assert tuple(spec.shape) == (None, 64, 32, 3)
