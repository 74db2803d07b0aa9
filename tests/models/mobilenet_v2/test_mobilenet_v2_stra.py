import json
import pathlib

import keras
import numpy as np
import pytest

import keras_reid
from tests.test_case import run_model_saving_test, run_reid_model_test

TABLE = pathlib.Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "flops_params.json"


@pytest.mark.parametrize("name", ["mobilenetv2_stra", "mobilenetv2_1.4_stra", "mobilenetv2"])
def test_contract_training_step_and_saving(name):
    if name == "mobilenetv2_1.4_stra" and keras.backend.backend() != "tensorflow":
        # Suite time: width 1.4 differs from 1.0 only in channel counts (shapes: test_backbones).
        pytest.skip("the 1.4 width runs the fit-step contract on TensorFlow")
    model = keras_reid.build(name, num_classes=3, image_shape=(64, 32, 3))
    x = np.random.rand(4, 64, 32, 3).astype("float32")
    run_reid_model_test(model, x, np.array([0, 1, 2, 0]), expected_embedding_dim=512)
    if "stra" in name:
        assert len(model.losses) == 1  # summed diversity of the StRA blocks
    run_model_saving_test(model, x)


def test_stra_replaces_only_last_stage_depthwise():
    base = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
    stra = keras_reid.build("mobilenetv2_stra", image_shape=(64, 32, 3))
    base_names = {l.name for l in base.network.layers if l.weights}
    stra_names = {l.name for l in stra.network.layers if l.weights}
    removed = base_names - stra_names
    assert removed == {f"features_{i}_depthwise_{k}" for i in (15, 16, 17) for k in ("conv", "bn")}
    # Every other layer keeps its name and shapes, so ImageNet backbone weights transfer.
    for name in base_names & stra_names:
        a, b = base.network.get_layer(name), stra.network.get_layer(name)
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights], name


def _params(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_committed_table_matches_models():
    """benchmarks/results/flops_params.json was produced from these models (params re-counted here)."""
    table = json.loads(TABLE.read_text())
    for row in table["rows"]:
        model = keras_reid.build(row["architecture"])
        assert _params(model) == row["params"], row["architecture"]


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="FLOPs are counted with XLA on JAX")
@pytest.mark.parametrize("width", ["", "_1.4"])
def test_stra_flops_within_five_percent_of_baseline(width):
    from keras_reid.utils.flops import count_flops

    base = count_flops(keras_reid.build(f"mobilenetv2{width}"))
    stra = count_flops(keras_reid.build(f"mobilenetv2{width}_stra"))
    assert abs(stra / base - 1) <= 0.05, (stra, base)
