"""TorchSGD / TorchAdam against torch.optim (coupled L2, Nesterov, per-variable lr multipliers)."""

import keras
import numpy as np
import pytest

from keras_reid.training.optimizers import TorchAdam, TorchSGD

torch = pytest.importorskip("torch")


def _run(keras_opt, torch_cls, torch_kwargs, mult):
    rng = np.random.default_rng(0)
    w0 = [rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in w0] for _ in range(4)]
    kv = [keras.Variable(w, name=n) for w, n in zip(w0, ("backbone_w", "head_b"))]
    keras_opt.build(kv)
    for g in grads:
        keras_opt.apply([keras.ops.convert_to_tensor(x) for x in g], kv)
    tp = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
    base_lr = torch_kwargs.pop("lr")
    topt = torch_cls([{"params": [tp[0]], "lr": base_lr * mult}, {"params": [tp[1]], "lr": base_lr}], **torch_kwargs)
    for g in grads:
        for p, x in zip(tp, g):
            p.grad = torch.tensor(x)
        topt.step()
    for k, t in zip(kv, tp):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(k), t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sgd_matches_torch():
    opt = TorchSGD(0.1, momentum=0.9, nesterov=True, l2_weight_decay=5e-4, lr_multipliers={"backbone": 0.1})
    _run(opt, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4), 0.1)


def test_adam_matches_torch():
    opt = TorchAdam(3e-3, beta_1=0.9, beta_2=0.99, l2_weight_decay=5e-4, lr_multipliers={"backbone": 0.5})
    _run(opt, torch.optim.Adam, dict(lr=3e-3, betas=(0.9, 0.99), weight_decay=5e-4), 0.5)


def test_state_transfer_keeps_known_slots():
    a = keras.Variable(np.ones((2,), "float32"), name="a")
    b = keras.Variable(np.ones((2,), "float32"), name="b")
    first = TorchAdam(1e-2)
    first.build([b])
    first.apply([keras.ops.ones((2,))], [b])
    second = TorchAdam(1e-2)
    second.build([a, b])
    second.transfer_state_from(first)
    state = second.slot_values_by_path()
    assert state[b.path]["step"] == 1 and state[a.path]["step"] == 0
    assert int(keras.ops.convert_to_numpy(second.iterations)) == 1
