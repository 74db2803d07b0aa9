"""The differentiable bilinear sampler vs PyTorch (`affine_grid` + `grid_sample`) and NumPy."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_reid.layers.bilinear_sampler import (
    AxisAlignedSampler,
    affine_grid_sample,
    axis_aligned_sample,
)
from tests.test_case import run_layer_test, run_serialization_test, to_numpy


def backend_grad(fn, *arrays):
    """Gradients of the scalar `fn(*tensors)` w.r.t. every input, with the active backend."""
    arrays = [np.asarray(a, "float32") for a in arrays]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(a) for a in arrays]
        with tf.GradientTape() as tape:
            for t in tensors:
                tape.watch(t)
            out = fn(*tensors)
        return [np.asarray(g) for g in tape.gradient(out, tensors)]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        grads = jax.grad(fn, argnums=tuple(range(len(arrays))))(*[jnp.asarray(a) for a in arrays])
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        fn(*tensors).backward()
        return [t.grad.detach().cpu().numpy() for t in tensors]
    pytest.skip(f"no gradient helper for backend {backend}")


def assert_rel_close(actual, expected, tol):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-12)
    assert err <= tol, f"relative max error {err:.3g} > {tol}"


def random_theta(rng, n, axis_aligned=False):
    theta = np.tile(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (n, 1, 1))
    theta += rng.normal(0.0, 0.35, size=(n, 2, 3))
    if axis_aligned:
        theta[:, 0, 1] = 0.0
        theta[:, 1, 0] = 0.0
    return theta.astype("float32")


def numpy_grid_sample(images, theta, out_size, align_corners):
    """float64 NumPy reference written from PyTorch's documented formulas (NHWC)."""
    n, h, w, c = images.shape
    ho, wo = out_size

    def base(length):
        o = np.arange(length, dtype=np.float64)
        if align_corners:
            return 2 * o / (length - 1) - 1 if length > 1 else np.zeros(length)
        return (2 * o + 1) / length - 1

    gx, gy = np.meshgrid(base(wo), base(ho))
    coords = np.stack([gx, gy, np.ones_like(gx)], -1)  # (Ho, Wo, 3)
    grid = np.einsum("hwk,njk->nhwj", coords, theta)

    def unnorm(g, length):
        return (g + 1) / 2 * (length - 1) if align_corners else ((g + 1) * length - 1) / 2

    ix, iy = unnorm(grid[..., 0], w), unnorm(grid[..., 1], h)
    x0, y0 = np.floor(ix), np.floor(iy)
    out = np.zeros((n, ho, wo, c))
    batch = np.arange(n)[:, None, None]
    for xc, yc, wt in (
        (x0, y0, (x0 + 1 - ix) * (y0 + 1 - iy)),
        (x0 + 1, y0, (ix - x0) * (y0 + 1 - iy)),
        (x0, y0 + 1, (x0 + 1 - ix) * (iy - y0)),
        (x0 + 1, y0 + 1, (ix - x0) * (iy - y0)),
    ):
        valid = (xc >= 0) & (xc <= w - 1) & (yc >= 0) & (yc <= h - 1)
        xi = np.clip(xc, 0, w - 1).astype(int)
        yi = np.clip(yc, 0, h - 1).astype(int)
        out += images[batch, yi, xi] * (wt * valid)[..., None]
    return out


def torch_sample(images, theta, out_size, align_corners, cotangent):
    """PyTorch value and gradients (images, θ) of sum(grid_sample(...) * cotangent)."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = torch.tensor(np.transpose(images, (0, 3, 1, 2)), dtype=torch.float64, requires_grad=True)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    n, c = images.shape[0], images.shape[3]
    grid = F.affine_grid(t, (n, c, *out_size), align_corners=align_corners)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    out = out.permute(0, 2, 3, 1)
    (out * torch.tensor(cotangent, dtype=torch.float64)).sum().backward()
    return (
        out.detach().numpy(),
        np.transpose(x.grad.numpy(), (0, 2, 3, 1)),
        t.grad.numpy(),
    )


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("out_size", [None, (5, 4)])
def test_affine_grid_sample_matches_torch(align_corners, out_size):
    rng = np.random.default_rng()
    images = rng.normal(size=(2, 7, 6, 3)).astype("float32")
    theta = random_theta(rng, 2)
    size = out_size or (7, 6)
    cotangent = rng.normal(size=(2, *size, 3)).astype("float32")
    ref, ref_dx, ref_dtheta = torch_sample(images, theta, size, align_corners, cotangent)

    out = to_numpy(affine_grid_sample(images, theta, out_size, align_corners=align_corners))
    np.testing.assert_allclose(out, ref, atol=1e-5)

    def loss(x, t):
        y = affine_grid_sample(x, t, out_size, align_corners=align_corners)
        return ops.sum(y * ops.convert_to_tensor(cotangent))

    dx, dtheta = backend_grad(loss, images, theta)
    assert_rel_close(dx, ref_dx, 1e-4)
    assert_rel_close(dtheta, ref_dtheta, 1e-4)


@pytest.mark.parametrize("align_corners", [False, True])
def test_theta_gradient_matches_numpy_finite_differences(align_corners):
    rng = np.random.default_rng()
    images = rng.normal(size=(1, 6, 5, 2))
    theta = random_theta(rng, 1).astype(np.float64)
    cotangent = rng.normal(size=(1, 6, 5, 2))

    def f(t):
        return np.sum(numpy_grid_sample(images, t, (6, 5), align_corners) * cotangent)

    eps = 1e-6
    fd = np.zeros_like(theta)
    for idx in np.ndindex(*theta.shape):
        plus, minus = theta.copy(), theta.copy()
        plus[idx] += eps
        minus[idx] -= eps
        fd[idx] = (f(plus) - f(minus)) / (2 * eps)

    np.testing.assert_allclose(
        to_numpy(affine_grid_sample(images.astype("float32"), theta.astype("float32"), align_corners=align_corners)),
        numpy_grid_sample(images, theta, (6, 5), align_corners),
        atol=1e-5,
    )

    def loss(t):
        y = affine_grid_sample(ops.convert_to_tensor(images, "float32"), t, align_corners=align_corners)
        return ops.sum(y * ops.convert_to_tensor(cotangent, "float32"))

    (dtheta,) = backend_grad(loss, theta)
    assert_rel_close(dtheta, fd, 1e-4)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("integer_positions", [False, True])
def test_axis_aligned_sample_matches_general_path_and_torch(align_corners, integer_positions):
    rng = np.random.default_rng()
    images = rng.normal(size=(3, 8, 6, 4)).astype("float32")
    theta = random_theta(rng, 3, axis_aligned=True)
    if integer_positions:  # HA-CNN at init: s_x = 1, t_x = 0 samples exactly on pixel columns
        theta[:, 0, :] = [1.0, 0.0, 0.0]
        theta[:, 1, 1] = 0.25
    cotangent = rng.normal(size=(3, 8, 6, 4)).astype("float32")
    ref, ref_dx, ref_dtheta = torch_sample(images, theta, (8, 6), align_corners, cotangent)

    def separable(x, t):
        return axis_aligned_sample(x, t[:, 0, 0], t[:, 1, 1], t[:, 0, 2], t[:, 1, 2], align_corners)

    out = to_numpy(separable(images, theta))
    general = to_numpy(affine_grid_sample(images, theta, align_corners=align_corners))
    np.testing.assert_allclose(out, general, atol=1e-5)
    np.testing.assert_allclose(out, ref, atol=1e-5)

    def loss_sep(x, t):
        return ops.sum(separable(x, t) * ops.convert_to_tensor(cotangent))

    def loss_gen(x, t):
        return ops.sum(affine_grid_sample(x, t, align_corners=align_corners) * ops.convert_to_tensor(cotangent))

    dx, dtheta = backend_grad(loss_sep, images, theta)
    gdx, gdtheta = backend_grad(loss_gen, images, theta)
    assert_rel_close(dx, ref_dx, 1e-4)
    assert_rel_close(gdx, ref_dx, 1e-4)
    # Only the diagonal scales and the translations are parameters of the separable form.
    mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    if integer_positions:
        # Exact pixel columns are kinks: PyTorch's one-sided choice there depends on the
        # rounding of its grid. The separable form takes the right derivative, exactly:
        # compare dt_x with a forward difference of the float64 NumPy reference
        # (dpos/dt_x > 0; for s_x the sign of dpos/ds_x varies across the row).
        mask = np.array([[0, 0, 0], [0, 1, 1]], bool)
        eps = 1e-7
        for j in (2,):
            plus = theta.astype(np.float64)
            plus[:, 0, j] += eps
            base = numpy_grid_sample(images.astype(np.float64), theta.astype(np.float64), (8, 6), align_corners)
            shifted = numpy_grid_sample(images.astype(np.float64), plus, (8, 6), align_corners)
            right = np.sum((shifted - base) * cotangent, axis=(1, 2, 3)) / eps
            assert_rel_close(dtheta[:, 0, j], right, 1e-4)
    assert_rel_close(dtheta[:, mask], ref_dtheta[:, mask], 1e-4)
    if not integer_positions:
        # At exact pixel positions the sampler is not differentiable in θ: the one-sided
        # derivative taken depends on float32 rounding of the general path's grid.
        assert_rel_close(gdtheta, ref_dtheta, 1e-4)


@pytest.mark.parametrize("translations_kind", ["random", "zero", "edges"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_sampler_with_resize_matches_torch_sample_then_interpolate(align_corners, translations_kind):
    # HA-CNN's region crop as upstream runs it: grid_sample at the source size, then
    # F.interpolate(align_corners=True). The layer folds the resize into its sampling
    # matrices and reads only the band of rows the crop covers; values and gradients
    # (images, translations) must not change, at integer positions (t = 0, HA-CNN's
    # init), with crops partly or wholly outside the source, and at the band's clamps.
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng()
    images = rng.normal(size=(3, 16, 8, 4)).astype("float32")
    translations = {
        "random": rng.uniform(-1.0, 1.0, size=(3, 2)),
        "zero": np.zeros((3, 2)),
        "edges": np.array([[0.3, -0.75], [-0.2, 0.75], [0.0, 1.4]]),  # top, bottom, outside
    }[translations_kind].astype("float32")
    cotangent = rng.normal(size=(3, 6, 7, 4)).astype("float32")
    x = torch.tensor(np.transpose(images, (0, 3, 1, 2)), dtype=torch.float64, requires_grad=True)
    t = torch.tensor(translations, dtype=torch.float64, requires_grad=True)
    theta = torch.zeros(3, 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 1, 1] = 1.0, 0.25
    theta = theta + torch.stack([torch.zeros_like(t), torch.zeros_like(t), t], dim=-1)
    grid = F.affine_grid(theta, (3, 4, 16, 8), align_corners=align_corners)
    crop = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    want = F.interpolate(crop, (6, 7), mode="bilinear", align_corners=True).permute(0, 2, 3, 1)
    (want * torch.tensor(cotangent, dtype=torch.float64)).sum().backward()

    layer = AxisAlignedSampler(1.0, 0.25, resize_to=(6, 7), align_corners=align_corners)
    np.testing.assert_allclose(to_numpy(layer([images, translations])), want.detach().numpy(), atol=1e-5)
    dx, dt = backend_grad(
        lambda a, b: ops.sum(layer([a, b]) * ops.convert_to_tensor(cotangent)), images, translations
    )
    assert_rel_close(dx, np.transpose(x.grad.numpy(), (0, 2, 3, 1)), 1e-4)
    assert_rel_close(dt, t.grad.numpy(), 1e-4)


def test_axis_aligned_sampler_layer():
    x = np.random.rand(2, 16, 8, 4).astype("float32")
    t = np.random.uniform(-0.5, 0.5, size=(2, 2)).astype("float32")
    layer = AxisAlignedSampler(scale_x=1.0, scale_y=0.25, resize_to=(6, 7))
    run_serialization_test(layer)
    out = layer([x, t])
    assert tuple(out.shape) == (2, 6, 7, 4)
    symbolic = layer([keras.KerasTensor((None, 16, 8, 4)), keras.KerasTensor((None, 2))])
    assert tuple(symbolic.shape) == (None, 6, 7, 4)
    for policy in ("mixed_float16", "mixed_bfloat16"):
        mp = AxisAlignedSampler(resize_to=(6, 7), dtype=policy)([x, t])
        assert np.all(np.isfinite(to_numpy(ops.cast(mp, "float32"))))


def test_axis_aligned_sampler_layer_kit():
    # The kit feeds a single input; sample with zero translation through a tiny wrapper.
    run_layer_test(
        _ZeroShiftSampler,
        {"resize_to": [6, 7]},
        np.random.rand(2, 16, 8, 4).astype("float32"),
        (2, 6, 7, 4),
        expected_num_trainable_weights=0,
    )


@keras.saving.register_keras_serializable(package="keras_reid")
class _ZeroShiftSampler(AxisAlignedSampler):
    def call(self, inputs):
        return super().call([inputs, ops.zeros((ops.shape(inputs)[0], 2))])

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape([input_shape, (input_shape[0], 2)])
