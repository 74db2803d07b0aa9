import numpy as np
import pytest

from keras_reid.layers.channel_gate import ChannelGate
from tests.test_case import run_layer_test, to_numpy


def test_layer_kit():
    x = np.random.rand(2, 6, 4, 32).astype("float32")
    run_layer_test(ChannelGate, {}, x, (2, 6, 4, 32), expected_num_trainable_weights=4)
    run_layer_test(ChannelGate, {"return_gates": True, "num_gates": 8, "gate_activation": "relu"}, x, (2, 1, 1, 8),
                   run_mixed_precision_check=False)


def test_gates_match_numpy():
    rng = np.random.default_rng()
    x = rng.normal(1.0, 2.0, size=(3, 5, 4, 32)).astype("float32")
    layer = ChannelGate(reduction=16)
    layer.build(x.shape)
    w1, b1 = rng.normal(size=(32, 2)).astype("float32"), rng.normal(size=2).astype("float32")
    w2, b2 = rng.normal(size=(2, 32)).astype("float32"), rng.normal(size=32).astype("float32")
    layer.fc1.set_weights([w1, b1])
    layer.fc2.set_weights([w2, b2])
    hidden = np.maximum(x.mean(axis=(1, 2)) @ w1 + b1, 0.0)
    gates = 1.0 / (1.0 + np.exp(-(hidden @ w2 + b2)))
    np.testing.assert_allclose(to_numpy(layer(x)), x * gates[:, None, None, :], atol=1e-5, rtol=1e-5)
    assert [v.path for v in layer.weights] == [f"{layer.name}/fc1/kernel", f"{layer.name}/fc1/bias",
                                                f"{layer.name}/fc2/kernel", f"{layer.name}/fc2/bias"]


def test_matches_torch_reference():
    torch = pytest.importorskip("torch")
    from tests.conversion.torch_reference_osnet import Gate

    ref = Gate(48)
    x = np.random.default_rng().normal(size=(2, 5, 3, 48)).astype("float32")
    layer = ChannelGate()
    layer.build(x.shape)
    layer.fc1.set_weights([ref.fc1.weight.detach().numpy()[:, :, 0, 0].T, ref.fc1.bias.detach().numpy()])
    layer.fc2.set_weights([ref.fc2.weight.detach().numpy()[:, :, 0, 0].T, ref.fc2.bias.detach().numpy()])
    with torch.no_grad():
        expected = ref(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="gate_activation"):
        ChannelGate(gate_activation="tanh")
    with pytest.raises(ValueError, match="at least"):
        ChannelGate()(np.zeros((1, 2, 2, 8), "float32"))
    with pytest.raises(ValueError, match="return_gates"):
        ChannelGate(num_gates=4)(np.zeros((1, 2, 2, 32), "float32"))
