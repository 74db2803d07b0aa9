import keras
import numpy as np
import pytest

from keras_reid.layers.bilinear_sampler import AxisAlignedSampler
from keras_reid.layers.hard_regional_attention import HardRegionalAttention
from keras_reid.losses.reid_loss import ReIDLoss
from keras_reid.models.hacnn.hacnn import HACNN
from tests.test_case import run_model_saving_test, run_reid_model_test, to_numpy

NUM_CLASSES = 5


@pytest.fixture(scope="module")
def model():
    # Built once per module: building HA-CNN takes tens of seconds on a loaded 2-core CPU.
    return HACNN(num_classes=NUM_CLASSES)


def images(n=2, seed=None):
    return np.random.default_rng(seed).normal(size=(n, 160, 64, 3)).astype("float32")


def trainable_count(layer):
    return sum(int(np.prod(v.shape)) for v in layer.trainable_weights)


def test_parameter_counts_match_upstream(model):
    get = model.network.get_layer
    for k, expected in zip((1, 2, 3), (77_120, 322_176, 747_456)):
        assert trainable_count(get(f"inception{k}_0")) + trainable_count(get(f"inception{k}_1")) == expected
    for k, expected in zip((1, 2, 3), (20_272, 77_384, 171_360)):
        assert trainable_count(get(f"ha{k}")) == expected
    for k, expected in zip((1, 2, 3), (32_416, 144_704, 349_152)):
        assert trainable_count(get(f"local_conv{k}")) == expected
    assert trainable_count(get("fc_local_dense")) + trainable_count(get("fc_local_bn")) == 787_968
    classifiers = sum(trainable_count(layer) for layer in model.classifier_layers())
    assert classifiers == 2 * (512 * NUM_CLASSES + NUM_CLASSES)
    assert trainable_count(model) - classifiers == 2_929_112  # spec §2.1: unique non-classifier params
    assert len(model.weights) == 535 - 75  # upstream keys less num_batches_tracked


def test_image_shape_is_asserted():
    with pytest.raises(ValueError, match="160, 64, 3"):
        HACNN(image_shape=(256, 128, 3))


def test_reid_contract_and_saving(model):
    x = images(2)
    labels = np.array([0, 3])
    run_reid_model_test(model, x, labels, expected_embedding_dim=1024)
    assert model.logit_names == ["global", "local"]
    embedding = to_numpy(model(x))
    np.testing.assert_allclose(np.linalg.norm(embedding[:, :512], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(embedding[:, 512:], axis=1), 1.0, atol=1e-5)
    run_model_saving_test(model, x, atol=1e-5)


def test_global_only_model():
    model = HACNN(num_classes=3, learn_region=False)
    out = model(images(2), training=True)
    assert sorted(out) == ["embedding", "global"]
    assert model.predict(images(2), verbose=0).shape == (2, 512)


def _hard_attention_variables(model):
    return [v for k in (1, 2, 3) for v in model.network.get_layer(f"ha{k}").hard_attn.fc.trainable_weights]


def _gradients(model, x, y, targets):
    """d(training loss)/d(targets) with the active backend."""
    loss_fn = ReIDLoss()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True), model.logit_names)
        return [np.asarray(g) for g in tape.gradient(loss, [v.value for v in targets])]
    if backend == "torch":
        for v in model.trainable_variables:
            v.value.grad = None
        loss = loss_fn(keras.ops.convert_to_tensor(y), model(x, training=True), model.logit_names)
        loss.backward()
        return [v.value.grad.detach().cpu().numpy() for v in targets]
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        positions = [next(i for i, w in enumerate(model.trainable_variables) if w is v) for v in targets]

        def loss(values):
            out, _ = model.stateless_call(values, non_trainable, x, training=True)
            return loss_fn(y, out, model.logit_names)

        grads = jax.grad(loss)(trainable)
        return [np.asarray(grads[i]) for i in positions]
    pytest.skip(backend)


def test_theta_receives_gradients(model):
    if keras.backend.backend() == "jax":
        # Suite time: JAX differentiates the whole HA-CNN op by op (~100 s). The sampler's
        # θ-gradient is checked on every backend, JAX included, against PyTorch and finite
        # differences in tests/layers/test_bilinear_sampler.py.
        pytest.skip("full-model θ gradients run on TensorFlow and PyTorch")
    targets = _hard_attention_variables(model)
    grads = _gradients(model, images(4), np.array([0, 1, 2, 3]), targets)
    for v, g in zip(targets, grads):
        assert np.all(np.isfinite(g)), v.path
        assert np.abs(g).max() > 0, f"no gradient reaches {v.path}"


@pytest.mark.parametrize("align_corners", [False, True])
def test_hard_attention_crop_lands_where_theta_says(align_corners):
    # A 80×32 map, bright (1) on source rows 50..54, dark elsewhere.
    height, width = 80, 32
    x = np.zeros((1, height, width, 3), "float32")
    x[:, 50:55] = 1.0
    centre = 52.0
    # t_y that puts the crop's centre on source row 52 (grid_sample's unnormalisation).
    if align_corners:
        ty = 2 * centre / (height - 1) - 1
    else:
        ty = (2 * centre + 1) / height - 1
    hard = HardRegionalAttention()
    hard.build((1, 10, 4, 8))
    bias = np.zeros(8, "float32")
    bias[2:4] = [0.0, np.arctanh(ty)]  # region 1 carries the translation
    hard.fc.bias.assign(bias)
    theta = to_numpy(hard(np.random.rand(1, 10, 4, 8).astype("float32")))
    np.testing.assert_allclose(theta[0, 1], [0.0, ty], atol=1e-6)
    crop = to_numpy(AxisAlignedSampler(1.0, 0.25, align_corners=align_corners)([x, theta[:, 1]]))[0, :, :, 0]
    # Scale 0.25: output row o samples source row 52 + 0.25·(o − centre of the output).
    o = np.arange(height)
    out_centre = (height - 1) / 2
    source = centre + 0.25 * (o - out_centre)
    fully_bright = (source >= 50) & (source <= 54)
    fully_dark = (source <= 49) | (source >= 55)
    assert fully_bright.sum() >= 15
    np.testing.assert_allclose(crop[fully_bright], 1.0, atol=1e-5)
    np.testing.assert_allclose(crop[fully_dark], 0.0, atol=1e-5)
    bright_rows = np.where(crop.mean(axis=1) > 0.5)[0]
    assert abs(bright_rows.mean() - out_centre) <= 0.5


# -- parity with a PyTorch reference built from the spec ------------------------------------


def _keras_layer_for(model, key):
    parts = key.split(".")[:-1]
    top, get = parts[0], model.network.get_layer
    if top in ("fc_global", "fc_local"):
        return get(f"{top}_{'dense' if parts[1] == '0' else 'bn'}")
    if top.startswith("classifier"):
        return get(top)
    if top == "conv":
        return get("conv").get_layer(parts[1])
    if top.startswith("inception"):
        layer, rest = get(f"{top}_{parts[1]}"), parts[2:]
    else:  # local_conv{k}, ha{k}
        layer, rest = get(top), parts[1:]
        while rest[0] in ("soft_attn", "hard_attn", "spatial_attn", "channel_attn"):
            layer, rest = getattr(layer, rest[0]), rest[1:]
    return getattr(layer, "_".join(rest))


def _assign(layer, param, value):
    value = value.detach().cpu().numpy()
    if isinstance(layer, keras.layers.BatchNormalization):
        var = {"weight": layer.gamma, "bias": layer.beta, "running_mean": layer.moving_mean,
               "running_var": layer.moving_variance}[param]
    elif param == "weight":
        var = layer.kernel
        value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value.T
    else:
        var = layer.bias
    assert tuple(var.shape) == value.shape, (layer.name, param, var.shape, value.shape)
    var.assign(value)
    return var


def copy_module_weights(module, layer):
    """Copies a torch HA-CNN submodule (InceptionA, SoftAttn, ...) into the matching Keras layer."""
    randomize_torch(module, seed=int(np.random.default_rng().integers(1 << 30)))
    count = 0
    for key, value in module.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        parts = key.split(".")
        target, rest = layer, parts[:-1]
        while rest[0] in ("soft_attn", "hard_attn", "spatial_attn", "channel_attn"):
            target, rest = getattr(target, rest[0]), rest[1:]
        _assign(getattr(target, "_".join(rest)), parts[-1], value)
        count += 1
    assert count == len(layer.weights)


def copy_torch_weights(torch_model, model):
    """Copies a torch HA-CNN state_dict (upstream key layout) into a Keras HACNN."""
    assigned = set()
    for key, value in torch_model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        var = _assign(_keras_layer_for(model, key), key.split(".")[-1], value)
        assigned.add(id(var))
    assert len(assigned) == len(model.weights)


def randomize_torch(torch_model, seed):
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, module in torch_model.named_modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                shape = module.weight.shape
                module.weight.copy_(torch.rand(shape, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(shape, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(shape, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(shape, generator=gen) + 0.5)
            elif name.endswith("hard_attn.fc") or name == "fc":  # non-zero kernel: θ varies per sample
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * 0.5)
                module.bias.add_(torch.randn(module.bias.shape, generator=gen) * 0.1)


def test_parity_with_torch_reference(model):
    torch = pytest.importorskip("torch")
    from tests.models.hacnn.torch_reference import build_reference

    reference = build_reference(NUM_CLASSES)
    assert len(reference.state_dict()) == 535
    randomize_torch(reference, seed=int(np.random.default_rng().integers(1 << 30)))
    reference.eval()
    copy_torch_weights(reference, model)
    x = images(2)
    with torch.no_grad():
        expected = reference(torch.tensor(x.transpose(0, 3, 1, 2))).numpy()
        theta = reference.ha1.hard_attn(reference.inception1(reference.conv(torch.tensor(x.transpose(0, 3, 1, 2)))))
    assert float((theta[0] - theta[1]).abs().max()) > 1e-3  # per-sample regions really differ
    actual = to_numpy(model(x))
    diff = np.abs(actual - expected).max()
    print(f"HA-CNN eval embedding max |keras - torch| = {diff:.3g}")
    assert diff <= 1e-4
