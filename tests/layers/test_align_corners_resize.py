import numpy as np
import pytest

from keras_reid.layers.align_corners_resize import AlignCornersResize, resize_align_corners
from tests.layers.test_bilinear_sampler import assert_rel_close, backend_grad
from tests.test_case import run_layer_test, to_numpy


def test_layer_kit():
    run_layer_test(AlignCornersResize, {"scale": 2}, np.random.rand(2, 5, 4, 3).astype("float32"), (2, 10, 8, 3))
    run_layer_test(AlignCornersResize, {"size": [6, 7]}, np.random.rand(2, 16, 8, 3).astype("float32"), (2, 6, 7, 3))


@pytest.mark.parametrize("size", [(24, 28), (6, 7), (1, 3), (10, 8)])
def test_matches_torch_interpolate(size):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from keras import ops

    x = np.random.rand(2, 16, 8, 3).astype("float32")
    cot = np.random.rand(2, *size, 3).astype("float32")
    xt = torch.tensor(x.transpose(0, 3, 1, 2), dtype=torch.float64, requires_grad=True)
    ref = F.interpolate(xt, size, mode="bilinear", align_corners=True).permute(0, 2, 3, 1)
    (ref * torch.tensor(cot, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(to_numpy(resize_align_corners(x, size)), ref.detach().numpy(), atol=1e-5)
    (dx,) = backend_grad(lambda t: ops.sum(resize_align_corners(t, size) * ops.convert_to_tensor(cot)), x)
    assert_rel_close(dx, xt.grad.numpy().transpose(0, 2, 3, 1), 1e-4)
