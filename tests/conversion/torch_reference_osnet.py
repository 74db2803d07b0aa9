"""PyTorch references of torchreid's OSNet family (test-only, written from torchreid as a spec).

Two state-dict layouts, whose module and attribute names reproduce torchreid's keys:

- `OSNetReference` — `torchreid/models/osnet.py` (`osnet_x1_0`, `_x0_75`, `_x0_5`,
  `_x0_25`, `osnet_ibn_x1_0`): blocks with streams `conv2a` (one LightConv3x3, not a
  Sequential) and `conv2b/c/d` (Sequentials of 2/3/4), the transition as the third entry
  of `conv2`/`conv3` (`conv2.2.0` = Conv1x1, `conv2.2.1` = AvgPool2d(2, 2)); IBN:
  `conv1.bn` is `InstanceNorm2d(affine=True)` and the `conv2` blocks apply `IN` to the
  residual sum before the ReLU.
- `OSNetAINReference` — `torchreid/models/osnet_ain.py` (`osnet_ain_x1_0`): streams
  `conv2.{t}.layers.{i}`, transitions `pool2`/`pool3`, stem IN, blocks
  [[INin, INin], [plain, INin], [INin, plain]] where `OSBlockINin` has a BN-free `conv3`
  followed by `IN` inside the residual branch.

Both: every conv bias-free except the gate's 1×1 `fc1`/`fc2`; gate = global average
pool → fc1 (C → C/16) → ReLU → fc2 → sigmoid, the same gate module applied to each of the
four streams, summed; `conv3` 1×1 + BN (linear); `downsample` 1×1 + BN when channels
differ; ReLU after the sum; `conv5` Conv1x1 (+BN+ReLU); AdaptiveAvgPool2d(1); `fc` =
Linear → BatchNorm1d → ReLU; in eval mode `forward` returns the `fc` output.
"""

import torch
import torch.nn.functional as F
from torch import nn

from tests.conversion import torch_reference as T

WIDTHS = {"x1_0": (64, 256, 384, 512), "x0_75": (48, 192, 288, 384), "x0_5": (32, 128, 192, 256),
          "x0_25": (16, 64, 96, 128)}


class ConvNorm(nn.Module):
    """`conv` (bias-free) → `bn` (BatchNorm2d, InstanceNorm2d or none) → optional ReLU."""

    def __init__(self, cin, cout, kernel=1, stride=1, padding=0, norm="bn", relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        if norm == "bn":
            self.bn = nn.BatchNorm2d(cout)
        elif norm == "in":
            self.bn = nn.InstanceNorm2d(cout, affine=True)
        self.norm = norm
        self.relu = relu

    def forward(self, x):
        x = self.conv(x)
        if self.norm is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class LightConv(nn.Module):
    """1×1 conv (linear) → depthwise 3×3 (pad 1) → BN → ReLU."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.relu(self.bn(self.conv2(self.conv1(x))))


class Gate(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        g = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(g))))


class _Block(nn.Module):
    """Shared forward of both block layouts; subclasses define `streams()`."""

    def _setup(self, cin, cout):
        mid = cout // 4
        self.conv1 = ConvNorm(cin, mid)
        return mid

    def _finish(self, cin, cout, mid, conv3_bn):
        self.gate = Gate(mid)
        self.conv3 = ConvNorm(mid, cout, norm="bn" if conv3_bn else None, relu=False)
        if cin != cout:
            self.downsample = ConvNorm(cin, cout, relu=False)

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = None
        for stream in self.streams():
            g = self.gate(stream(x1))
            x2 = g if x2 is None else x2 + g
        x3 = self.conv3(x2)
        if self.in_inside:
            x3 = self.IN(x3)
        identity = self.downsample(x) if hasattr(self, "downsample") else x
        out = x3 + identity
        if self.in_after_sum:
            out = self.IN(out)
        return F.relu(out)


class OSBlock(_Block):
    """osnet.py `OSBlock`: `conv2a`, `conv2b.{0,1}`, `conv2c.{0..2}`, `conv2d.{0..3}`; `IN` after the sum."""

    def __init__(self, cin, cout, ibn=False):
        super().__init__()
        mid = self._setup(cin, cout)
        self.conv2a = LightConv(mid)
        self.conv2b = nn.Sequential(*[LightConv(mid) for _ in range(2)])
        self.conv2c = nn.Sequential(*[LightConv(mid) for _ in range(3)])
        self.conv2d = nn.Sequential(*[LightConv(mid) for _ in range(4)])
        self._finish(cin, cout, mid, conv3_bn=True)
        self.in_inside, self.in_after_sum = False, ibn
        if ibn:
            self.IN = nn.InstanceNorm2d(cout, affine=True)

    def streams(self):
        return (self.conv2a, self.conv2b, self.conv2c, self.conv2d)


class Stream(nn.Module):
    def __init__(self, channels, depth):
        super().__init__()
        self.layers = nn.Sequential(*[LightConv(channels) for _ in range(depth)])

    def forward(self, x):
        return self.layers(x)


class AINBlock(_Block):
    """osnet_ain.py `OSBlock` (`in_inside=False`) / `OSBlockINin` (BN-free conv3, then `IN`)."""

    def __init__(self, cin, cout, in_inside):
        super().__init__()
        mid = self._setup(cin, cout)
        self.conv2 = nn.ModuleList([Stream(mid, t) for t in range(1, 5)])
        self._finish(cin, cout, mid, conv3_bn=not in_inside)
        self.in_inside, self.in_after_sum = in_inside, False
        if in_inside:
            self.IN = nn.InstanceNorm2d(cout, affine=True)

    def streams(self):
        return tuple(self.conv2)


def _transition(channels):
    return nn.Sequential(ConvNorm(channels, channels), nn.AvgPool2d(2, stride=2))


class _Net(nn.Module):
    def _stem_and_head(self, channels, num_classes, feature_dim, stem_in):
        self.conv1 = ConvNorm(3, channels[0], 7, stride=2, padding=3, norm="in" if stem_in else "bn")
        self.conv5 = ConvNorm(channels[3], channels[3])
        self.fc = nn.Sequential(nn.Linear(channels[3], feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU())
        self.classifier = nn.Linear(feature_dim, num_classes)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 3, stride=2, padding=1)
        for stage in self.stages():
            x = stage(x)
        v = self.fc(self.conv5(x).mean((2, 3)))
        return v if not self.training else self.classifier(v)


class OSNetReference(_Net):
    """torchreid `osnet.OSNet` with `layers=[2, 2, 2]`; `ibn=True` is `osnet_ibn_x1_0`."""

    def __init__(self, num_classes=10, channels=WIDTHS["x1_0"], ibn=False, feature_dim=512):
        super().__init__()
        c0, c1, c2, c3 = channels
        self._stem_and_head(channels, num_classes, feature_dim, stem_in=ibn)
        self.conv2 = nn.Sequential(OSBlock(c0, c1, ibn), OSBlock(c1, c1, ibn), _transition(c1))
        self.conv3 = nn.Sequential(OSBlock(c1, c2), OSBlock(c2, c2), _transition(c2))
        self.conv4 = nn.Sequential(OSBlock(c2, c3), OSBlock(c3, c3))

    def stages(self):
        return (self.conv2, self.conv3, self.conv4)


class OSNetAINReference(_Net):
    """torchreid `osnet_ain.OSNet` as built by `osnet_ain_x1_0` (any width)."""

    def __init__(self, num_classes=10, channels=WIDTHS["x1_0"], feature_dim=512):
        super().__init__()
        c0, c1, c2, c3 = channels
        self._stem_and_head(channels, num_classes, feature_dim, stem_in=True)
        self.conv2 = nn.Sequential(AINBlock(c0, c1, True), AINBlock(c1, c1, True))
        self.pool2 = _transition(c1)
        self.conv3 = nn.Sequential(AINBlock(c1, c2, False), AINBlock(c2, c2, True))
        self.pool3 = _transition(c2)
        self.conv4 = nn.Sequential(AINBlock(c2, c3, True), AINBlock(c3, c3, False))

    def stages(self):
        return (self.conv2, self.pool2, self.conv3, self.pool3, self.conv4)


def build_reference(architecture, num_classes=10):
    """The reference module of a keras_reid OSNet architecture name (e.g. `osnet_x0_25`)."""
    if architecture == "osnet_ain_x1_0":
        return OSNetAINReference(num_classes)
    if architecture == "osnet_ibn_x1_0":
        return OSNetReference(num_classes, ibn=True)
    return OSNetReference(num_classes, channels=WIDTHS[architecture[len("osnet_"):]])


def residual_norms(module):
    """The last normalisation of every residual branch: `conv3.bn`, or `IN` in an `OSBlockINin`."""
    return [b.IN if b.in_inside else b.conv3.bn for b in module.modules() if isinstance(b, _Block)]


@torch.no_grad()
def randomize(module, seed=0, batch_shape=(8, 3, 128, 64)):
    """`T.randomize` (trained-network scales, calibrated BN statistics) plus random
    instance-normalisation affine parameters (gamma ~ U(0.5, 1.0), beta ~ U(-0.2, 0.2)),
    drawn first so the BN calibration sees them. As `T.randomize` does for ResNets, the
    last normalisation of each residual branch has its gamma scaled by `T.RESIDUAL_GAMMA`
    (trained residual networks have small gammas there) before the calibration pass."""
    gen = torch.Generator().manual_seed(seed + 7919)
    for m in module.modules():
        if isinstance(m, nn.InstanceNorm2d):
            c = m.num_features
            m.weight.copy_(0.5 + 0.5 * torch.rand(c, generator=gen))
            m.bias.copy_((torch.rand(c, generator=gen) - 0.5) * 0.4)

    def forward(m, x):  # runs after T.randomize drew the weights, before its calibration pass
        for norm in residual_norms(m):
            norm.weight.mul_(T.RESIDUAL_GAMMA)
        return m(x)

    return T.randomize(module, seed=seed, batch_shape=batch_shape, forward=forward)
