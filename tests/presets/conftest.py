import numpy as np
import pytest

import keras_reid


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    """A small saved preset (MobileNetV2, 32×16 input, 5 classes) with reference tensors."""
    model = keras_reid.build("mobilenetv2", num_classes=5, image_shape=(32, 16, 3))
    inputs = np.random.default_rng(0).normal(size=(2, 32, 16, 3)).astype("float32")
    path = tmp_path_factory.mktemp("preset") / "tiny"
    keras_reid.save_preset(model, str(path), reference_inputs=inputs, metadata={"name": "tiny"}, weights_dtype="float16")
    return path
