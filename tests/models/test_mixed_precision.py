"""Every architecture gives finite embeddings close to float32 under both mixed-precision
policies, with activations at trained-network scales (issue 14: ModeAttention's inner
products overflowed float16 and made `resnet50_stra` return NaN)."""

import keras
import numpy as np
import pytest

import keras_reid
from keras_reid.models.registry import list_architectures
from tests.test_case import to_numpy

# Small inputs for the MobileNetV2 family keep the suite fast; the ResNet models keep 128×64 (a 4×2
# last feature map loses too much precision in float16), HA-CNN its 160×64.
SHAPES = {"hacnn": (160, 64, 3)}
SMALL = (64, 32, 3)


def calibrate_batch_norms(model, x):
    """Sets every BatchNorm's moving statistics to those of its input on `x`, in one pass.

    With momentum 0 a training-mode forward pass replaces the moving statistics by the batch
    statistics, each BN seeing inputs of already-normalised layers: inference activations
    then stay O(1) through the network, as a trained network's do (random-init statistics
    let them grow by orders of magnitude, which no trained model shows). As in
    `tests/conversion/torch_reference.randomize`, each channel's variance is floored at a
    fraction of its second moment: a trained BN never sees a mean that dwarfs its spread
    (pooled head features of a few similar images would, and their mean subtraction would
    cancel every digit bfloat16 has).
    """
    norms = [l for l in model.network._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
    saved = [bn.momentum for bn in norms]
    for bn in norms:
        bn.momentum = 0.0
    model.network(x, training=True)
    for bn, m in zip(norms, saved):
        bn.momentum = m
        try:
            pooled = len(bn.input.shape) == 2
        except (AttributeError, ValueError):  # a sublayer of an attention layer: a feature map
            pooled = False
        mean, var = to_numpy(bn.moving_mean), to_numpy(bn.moving_variance)
        bn.moving_variance.assign(np.maximum(var, (0.5 if pooled else 0.25) * (var + mean**2)))


def structured_images(n, shape, seed=0):
    """Smooth normalised images (blobs and gradients), closer to crops than white noise."""
    rng = np.random.default_rng(seed)
    h, w, _ = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = []
    for _ in range(n):
        img = sum(rng.normal() * np.sin(rng.uniform(1, 8) * xx + rng.uniform(1, 8) * yy + rng.uniform(0, 6)) for _ in range(4))
        out.append(np.stack([img * rng.uniform(0.5, 1.5) + rng.normal(0, 0.2, (h, w)) for _ in range(3)], -1))
    return np.asarray(out, "float32")


# Cosine similarity to the float32 embedding: bfloat16 keeps 8 mantissa bits, so a random
# (calibrated) network drifts more than a trained one; the trained presets are held to 0.99
# below on both policies.
MIN_COSINE = {"mixed_float16": 0.98, "mixed_bfloat16": 0.7}
OPTIONS = {"mobilenetv2+in+bnneck": ("mobilenetv2", {"instance_norm_blocks": (2, 3, 4, 5, 6), "bnneck": True})}


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", list_architectures() + list(OPTIONS))
def test_mixed_precision_embeddings_finite_and_close(name, policy):
    if keras.backend.backend() != "tensorflow" and (name != "resnet50_stra" or policy != "mixed_float16"):
        # Every architecture and policy on TensorFlow; elsewhere the case of the bug (ModeAttention
        # overflowing float16 in resnet50_stra), to keep the suite short.
        pytest.skip("all architectures run on TensorFlow; JAX and PyTorch run resnet50_stra in mixed_float16")
    arch, options = OPTIONS.get(name, (name, {}))
    shape = SHAPES.get(arch, SMALL if arch.startswith("mobilenetv2") else (128, 64, 3))
    keras.utils.set_random_seed(0)
    reference = keras_reid.build(arch, image_shape=shape, **options)
    x = structured_images(4, shape)
    calibrate_batch_norms(reference, structured_images(8, shape, seed=1))
    expected = to_numpy(reference(x))
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = keras_reid.build(arch, image_shape=shape, **options)
        model.network.set_weights(reference.network.get_weights())
        got = to_numpy(model(x)).astype("float32")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert got.dtype == np.float32 and np.isfinite(got).all(), name
    cosine = (got * expected).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(expected, axis=-1))
    assert cosine.min() > MIN_COSINE[policy], (name, policy, cosine)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("preset", ["mobilenetv2_multisource", "mobilenetv2_stra_cuhk03", "hacnn_cuhk03"])
def test_trained_presets_under_mixed_precision(preset, policy):
    """Real trained weights on the bundled sample images: finite and cosine > 0.99."""
    if keras.backend.backend() != "tensorflow":
        # Suite time (about 150 s on JAX): the per-architecture test above runs the float16
        # case of the bug on every backend.
        pytest.skip("trained presets under mixed precision run on TensorFlow")
    import glob

    from keras_reid.cli import samples_dir

    paths = sorted(glob.glob(f"{samples_dir()}/*.jpg"))[:6]
    expected = keras_reid.FeatureExtractor(keras_reid.load(preset), verbose=0)(paths)
    keras.mixed_precision.set_global_policy(policy)
    try:
        got = keras_reid.FeatureExtractor(keras_reid.load(preset), verbose=0)(paths)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(got).all()
    cosine = (got * expected).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(expected, axis=-1))
    assert cosine.min() > 0.99, (preset, policy, cosine)
