"""OSNet layouts (torchreid `osnet.py`, `osnet_ain.py`): checkpoint → converter → keras_reid model,
compared with the PyTorch references written from torchreid (random weights at trained-network
scales, eval mode, fresh inputs)."""

import keras
import numpy as np
import pytest

import keras_reid
from conversion import ConversionError, apply_layout, convert_checkpoint, get_layout
from conversion.convert import resolve_num_classes
from conversion.layouts import default_layout
from conversion.__main__ import main as cli_main
from tests.conversion import torch_reference as T
from tests.conversion import torch_reference_osnet as R
from tests.test_case import assert_max_abs_close

TOL = 1e-4
SHAPE = (128, 64, 3)  # last feature map 8×4 (the instance normalisations see 32 pixels)
NUM_CLASSES = 7


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The references run on one torch thread: on an oversubscribed CPU (pytest-xdist workers, a
    training job) torch's intra-op threads wait on each other and a forward pass of OSNet takes
    seconds instead of tens of milliseconds."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _reference(arch, seed):
    return R.randomize(R.build_reference(arch, NUM_CLASSES), seed=seed, batch_shape=(8, 3) + SHAPE[:2])


def _fresh(n=2):
    return T.numpy_images((n,) + SHAPE, seed=int(np.random.default_rng().integers(1 << 30)))


def _check(name, got, want, tol=TOL):
    got, want = assert_max_abs_close(name, got, want, tol)
    assert np.abs(want).max() > 0.1  # a non-trivial output
    assert np.abs(want[0] - want[-1]).max() > 0.1 * np.abs(want).max()  # samples differ


def _check_model(arch, model, ref):
    import torch

    x = _fresh()
    out = model.network(x, training=False)
    want = T.run(ref, x)
    _check(f"{arch} embedding", keras.ops.convert_to_numpy(out["embedding"]), want)
    with torch.no_grad():  # torchreid's training-mode logits are classifier(v); compared in eval mode
        logits = ref.classifier(torch.from_numpy(want)).numpy()
    _check(f"{arch} logits", keras.ops.convert_to_numpy(out["logits"]), logits)


def test_osnet_x0_25_cli(tmp_path):
    """torchreid's ReID checkpoint format ({'state_dict': ...}, DataParallel prefix) through the CLI."""
    ref = _reference("osnet_x0_25", seed=11)
    assert len(ref.state_dict()) == get_layout("osnet_torchreid").expected_num_keys == 567
    ckpt = T.save_checkpoint(ref, tmp_path / "osnet_x0_25_market.pth.tar", wrap=True, prefix="module.")
    out = tmp_path / "osnet_x0_25"
    argv = ["convert", "--arch", "osnet_x0_25", "--checkpoint", str(ckpt), "--output", str(out),
            "--image-size", str(SHAPE[0]), str(SHAPE[1]), "--license", "mit", "--source", "unit test"]
    assert cli_main(argv) == 0
    model = keras_reid.load(str(out))
    conversion = model.preset_metadata["conversion"]
    assert model.preset_metadata["layout"] == "osnet_torchreid"
    assert conversion["assigned"] == 567 - 80 and not conversion["missing"] and not conversion["unexpected"]
    assert model.num_classes == NUM_CLASSES and model.width == 0.25
    _check_model("osnet_x0_25", model, ref)


@pytest.mark.parametrize(
    "arch, num_keys",
    [("osnet_ibn_x1_0", 568), ("osnet_ain_x1_0", 552), ("osnet_x0_5", 567), ("osnet_x0_75", 567), ("osnet_x1_0", 567)],
)
def test_osnet_parity(tmp_path, arch, num_keys):
    ref = _reference(arch, seed=sum(map(ord, arch)))
    state = ref.state_dict()
    assert len(state) == num_keys
    ckpt = T.save_checkpoint(ref, tmp_path / f"{arch}.pth")
    model, report = convert_checkpoint(ckpt, arch, image_shape=SHAPE)
    assert report.ok and not report.ignored and not report.left_at_init
    counters = sum(k.endswith("num_batches_tracked") for k in state)
    assert len(report.assigned) == len(model.weights) == num_keys - counters
    _check_model(arch, model, ref)


def _state(ref):
    return {k: v.numpy() for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}


def test_strict_conversion_names_every_problem():
    state = _state(R.build_reference("osnet_x0_25", NUM_CLASSES))
    renamed = dict(state)
    renamed["conv3.1.conv2c.2.conv2.wieght"] = renamed.pop("conv3.1.conv2c.2.conv2.weight")
    missing = dict(state)
    del missing["conv4.0.gate.fc2.bias"]
    misshaped = dict(state)
    misshaped["conv2.0.conv2d.3.conv2.weight"] = misshaped["conv2.0.conv2d.3.conv2.weight"][:, :, :2]
    # An instance normalisation that tracked running statistics would normalise differently at inference.
    ain_state = _state(R.build_reference("osnet_ain_x1_0", NUM_CLASSES))
    ain_state["conv2.0.IN.running_mean"] = np.zeros(256, "float32")
    expectations = [
        (renamed, "osnet_x0_25", ["conv3.1.conv2c.2.conv2.wieght", "conv3_1_conv2c_2_conv2/kernel"]),
        (missing, "osnet_x0_25", ["1 missing", "conv4_0_gate/fc2/bias"]),
        (misshaped, "osnet_x0_25", ["1 shape mismatches", "conv2.0.conv2d.3.conv2.weight -> conv2_0_conv2d_3_conv2"]),
        # A plain OSNet checkpoint is not an IBN one: running statistics where IN has none, IN keys missing.
        (state, "osnet_ibn_x1_0", ["conv1.bn.running_mean", "conv2_0_in/gamma"]),
        # osnet.py keys under the osnet_ain.py layout.
        (state, "osnet_ain_x1_0", ["no rule of layout 'osnet_ain_torchreid' matches it",
                                   "conv2.0.conv2a.conv1.weight"]),
        (ain_state, "osnet_ain_x1_0", ["1 unexpected", "conv2.0.IN.running_mean: maps to 'conv2_0_in/moving_mean'"]),
    ]
    models = {}
    for broken, arch, words in expectations:
        if arch not in models:
            models[arch] = keras_reid.build(arch, num_classes=NUM_CLASSES, image_shape=(64, 32, 3))
        with pytest.raises(ConversionError) as info:
            apply_layout(broken, models[arch], get_layout(default_layout(arch)), strict=True)
        for w in words:
            assert w in str(info.value), (w, str(info.value))


def test_imagenet_checkpoint_embedding_only():
    """torchreid's `*_imagenet.pth`: a 1000-class classifier, dropped with num_classes=0."""
    state = _state(R.build_reference("osnet_x0_25", num_classes=1000))
    assert resolve_num_classes(state, get_layout("osnet_torchreid")) == 1000
    model, report = convert_checkpoint(state, "osnet_x0_25", num_classes=0, image_shape=(64, 32, 3))
    assert model.num_classes is None and sorted(report.ignored) == ["classifier.bias", "classifier.weight"]
    assert report.ok and len(report.assigned) == len(model.weights)


@pytest.mark.parametrize("arch", ["osnet_ain_x1_0", "osnet_ibn_x1_0", "osnet_x0_25"])
def test_float64_mapping_is_exact(arch, monkeypatch):
    """In float64 (Keras policy + torch double) the converted model reproduces PyTorch to ≤1e-10: the
    mapping is exact and the float32 differences above are rounding only."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the float64 mapping check runs on the TensorFlow backend (as test_parity.py's)")
    from keras_reid.layers import instance_normalization
    from tests.conversion.test_parity import _UpcastOnlyOps

    # InstanceNormalization computes in float32 (for fp16/bf16); keep float64 here.
    monkeypatch.setattr(instance_normalization, "ops", _UpcastOnlyOps())
    shape = (64, 32, 3)
    ref = R.randomize(R.build_reference(arch, NUM_CLASSES).double(), seed=43, batch_shape=(8, 3) + shape[:2])
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        model, report = convert_checkpoint(_state(ref), arch, image_shape=shape)
        x = T.numpy_images((2,) + shape, seed=int(np.random.default_rng().integers(1 << 30))).astype("float64")
        got = keras.ops.convert_to_numpy(model.network(x, training=False)["embedding"])
    finally:
        keras.config.set_dtype_policy(policy)
    want = T.run(ref, x)
    assert report.ok and got.dtype == np.float64 and want.dtype == np.float64
    diff = float(np.abs(got - want).max())
    print(f"float64 {arch}: max abs diff {diff:.3g} (max |want| {float(np.abs(want).max()):.3g})")
    assert diff <= 1e-10
    assert np.abs(want[0] - want[-1]).max() > 0.1
