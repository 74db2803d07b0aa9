"""PyTorch reference modules for converter parity tests (test-only, written from the specs).

Module and attribute names reproduce the upstream state-dict keys exactly:
torchvision ResNet-50 (hand-written: torchvision is not installable here), the StRA
`stru_resnet50` (shared/specs/upstream_stra_hacnn.md §1.2–1.4, §1.7: `LocalAttn`,
`MoE`), the ResNet-50 ReID baseline (StRA's head on plain bottlenecks), and
MobileNetV2 in the tonylins and torchvision layouts.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


# -- ResNet-50 (torchvision v1.5) --------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def _downsample(inplanes, planes, stride):
    if stride == 1 and inplanes == planes * 4:
        return None
    return nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(planes * 4))


def _stage(block, inplanes, planes, blocks, stride):
    layers = [block(inplanes, planes, stride, _downsample(inplanes, planes, stride))]
    layers += [block(planes * 4, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class ResNetBody(nn.Module):
    """torchvision resnet50 without avgpool/fc (subclasses add heads); `layer4` replaceable."""

    def __init__(self, last_stride=2, layer4=None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _stage(Bottleneck, 64, 64, 3, 1)
        self.layer2 = _stage(Bottleneck, 256, 128, 4, 2)
        self.layer3 = _stage(Bottleneck, 512, 256, 6, 2)
        self.layer4 = layer4 if layer4 is not None else _stage(Bottleneck, 1024, 512, 3, last_stride)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.layer4(x)


class TorchvisionResNet50(ResNetBody):
    def __init__(self, last_stride=2):
        super().__init__(last_stride)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x):
        return self.features(x)  # the feature map (the ImageNet logits are not converted)


def reid_head(in_channels, dim=512):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, dim, 1, bias=False), nn.BatchNorm2d(dim))


class ResNet50ReIDBaseline(ResNetBody):
    def __init__(self, num_classes=751):
        super().__init__(last_stride=1)
        self.global_avg_pool = reid_head(2048)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.global_avg_pool(self.features(x)).flatten(1)


# -- StRA (spec §1.3-1.4) ----------------------------------------------------------------
class MoE(nn.Module):
    def __init__(self, channels=512, groups=8):
        super().__init__()
        self.groups = groups
        self.gap_weight = nn.Sequential(
            nn.Conv2d(channels, 64, 1, groups=groups),
            nn.BatchNorm2d(64),
            nn.Tanh(),
            nn.Conv2d(64, groups, 1, groups=groups),
            nn.BatchNorm2d(groups),
        )
        self.bn = nn.BatchNorm2d(groups)
        self.bn2 = nn.BatchNorm2d(groups)

    def forward(self, z):
        n, c, h, w = z.shape
        g = self.groups
        alpha = torch.softmax(self.gap_weight(z).view(n, g, h * w), dim=-1)
        zg = z.view(n, g, c // g, h * w)
        s = torch.einsum("ngp,ngcp->ngc", alpha, zg)
        d1 = torch.einsum("ngc,ngcp->ngp", s, zg).view(n, g, h, w)
        m1 = torch.sigmoid(self.bn(d1)).view(n, g, 1, h * w)
        y = zg + m1 * s[..., None]
        r = F.normalize(s @ s.transpose(1, 2), dim=-1)
        s2 = torch.softmax(math.sqrt(g) * r, dim=-1) @ s
        d2 = torch.einsum("ngc,ngcp->ngp", s2, y).view(n, g, h, w)
        m2 = torch.sigmoid(self.bn2(d2)).view(n, g, 1, h * w)
        out = (y + m2 * s2[..., None]).view(n, c, h, w)
        diversity = g - alpha.max(dim=1).values.sum(-1)
        return out, diversity


class LocalAttn(nn.Module):
    def __init__(self, channels=512, groups=8, kernel_size=3, ratio=4):
        super().__init__()
        self.groups, self.k = groups, kernel_size
        hidden = channels // ratio
        self.mask_conv = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, groups=groups),
            nn.BatchNorm2d(hidden),
            nn.Tanh(),
            nn.Conv2d(hidden, groups * (1 + kernel_size**2), 1, groups=groups),
            nn.BatchNorm2d(groups * (1 + kernel_size**2)),
        )
        self.value_conv = nn.Conv2d(channels, channels, 1, groups=groups, bias=False)
        self.moe = MoE(channels, groups)

    def forward(self, x):
        n, c, h, w = x.shape
        g, j = self.groups, self.k**2
        m = self.mask_conv(x)
        nu = F.unfold(m[:, :g], self.k, padding=self.k // 2).view(n, g, j, h, w)
        attn = torch.softmax(m[:, g:].reshape(n, g, j, h, w) + nu, dim=2)
        u = F.unfold(self.value_conv(x), self.k, padding=self.k // 2).view(n, g, c // g, j, h, w)
        out = (u * attn[:, :, None]).sum(3).reshape(n, c, h, w)
        return self.moe(out)


class StRABottleneck(nn.Module):
    def __init__(self, inplanes, planes=512, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = LocalAttn(planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out, diversity = self.conv2(out)
        out = self.relu(self.bn2(out))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity), diversity


class StRAResNet50(ResNetBody):
    """`stru_resnet50`: 440 state-dict keys (spec §1.7)."""

    def __init__(self, num_classes=751):
        layer4 = nn.Sequential(
            StRABottleneck(1024, 512, _downsample(1024, 512, 1)),
            StRABottleneck(2048, 512),
            StRABottleneck(2048, 512),
        )
        super().__init__(layer4=layer4)
        self.global_avg_pool = reid_head(2048)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        for block in self.layer4:
            x, _ = block(x)
        return self.global_avg_pool(x).flatten(1)


# -- MobileNetV2 ---------------------------------------------------------------------------
SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _make_divisible(v, d=8):
    return int(math.ceil(v / d) * d)


def _specs(width, output_stride):
    specs, cin = [], 32
    for t, c, n, s in SETTING:
        cout = _make_divisible(c * width) if t > 1 else c
        if c == 160 and output_stride == 16:
            s = 1
        for i in range(n):
            specs.append((cin, cout, s if i == 0 else 1, t))
            cin = cout
    return specs


def _conv_bn_relu6(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True)
    )


class InvertedResidualTonylins(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = round(cin * t)
        self.use_res = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class InvertedResidualTorchvision(InvertedResidualTonylins):
    def __init__(self, cin, cout, stride, t):
        nn.Module.__init__(self)
        hidden = round(cin * t)
        self.use_res = stride == 1 and cin == cout
        layers = [] if t == 1 else [_conv_bn_relu6(cin, hidden, 1)]
        layers += [_conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False)]
        layers += [nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)


class MobileNetV2(nn.Module):
    """tonylins (`torchvision_layout=False`) or torchvision key layout; optional ReID head.

    forward: the ReID embedding when `reid_head`, else the GAP of `features` (as
    deep-sort-realtime's `MobileNetV2_bottle`).
    """

    def __init__(self, width=1.0, output_stride=32, torchvision_layout=False, reid_head_dim=None, num_classes=None):
        super().__init__()
        block = InvertedResidualTorchvision if torchvision_layout else InvertedResidualTonylins
        last = _make_divisible(1280 * width) if width > 1.0 else 1280
        feats = [_conv_bn_relu6(3, 32, 3, 2)]
        feats += [block(*spec) for spec in _specs(width, output_stride)]
        feats.append(_conv_bn_relu6(_specs(width, output_stride)[-1][1], last, 1))
        self.features = nn.Sequential(*feats)
        if reid_head_dim:
            self.global_avg_pool = reid_head(last, reid_head_dim)
            if num_classes:
                self.classifier = nn.Linear(reid_head_dim, num_classes)
        else:
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, 1000))

    def forward(self, x):
        x = self.features(x)
        if hasattr(self, "global_avg_pool"):
            return self.global_avg_pool(x).flatten(1)
        return x.mean(3).mean(2)


# -- helpers ---------------------------------------------------------------------------------
def structured_images(batch_shape, generator=None, seed=None):
    """NCHW random "images" whose samples differ like real photos, not only like pixel noise.

    Unit pixel noise plus a per-image, per-channel brightness offset and contrast and a
    smooth (low-frequency) per-image pattern. Pure i.i.d. noise makes every image's pooled
    features almost identical, so head BatchNorms calibrated on it divide by a tiny
    between-image spread and amplify float32 rounding; a trained network on real images
    sees a spread comparable to the mean.
    """
    gen = generator if generator is not None else torch.Generator().manual_seed(int(seed or 0))
    n, c, h, w = batch_shape
    noise = torch.randn(batch_shape, generator=gen)
    contrast = 0.5 + torch.rand((n, 1, 1, 1), generator=gen)
    offset = 0.5 * torch.randn((n, c, 1, 1), generator=gen)
    coarse = torch.randn((n, c, 4, 2), generator=gen)
    smooth = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return contrast * noise + offset + smooth


def numpy_images(shape_nhwc, seed):
    """`structured_images` as an NHWC float32 NumPy batch (test inputs)."""
    n, h, w, c = shape_nhwc
    x = structured_images((n, c, h, w), seed=seed)
    return x.permute(0, 2, 3, 1).contiguous().numpy().astype("float32")


VAR_FLOOR = 0.25
POOLED_VAR_FLOOR = 0.5
# Trained ResNets have small gammas on the last BN of each residual branch (torchvision's
# `zero_init_residual` starts them at 0): the residual stream then stays O(1)–O(10)
# through 16 blocks instead of growing ~1.3× per block.
RESIDUAL_GAMMA = 0.25


@torch.no_grad()
def randomize(module, seed=0, batch_shape=(16, 3, 64, 32), inputs=None, forward=None):
    """Random weights at trained-network scales, non-trivial BN statistics, activations O(1).

    Convs: kaiming-normal fan-out (torchvision's init); Linear N(0, 1/fan_in); biases
    N(0, 0.05²). BatchNorm: gamma ~ U(0.5, 1.0), beta ~ U(-0.2, 0.2). The running
    statistics are calibrated in **eval mode, in one forward pass** (a pre-hook on every
    BatchNorm sets them from the input it is about to normalise, so each BN sees inputs
    produced by the already calibrated layers before it), then perturbed as a trained
    network's are: running_mean += U(-0.2, 0.2)·std, running_var ×= U(0.5, 2); each
    channel's variance is floored at `VAR_FLOOR` of its second moment (no channel whose
    mean dwarfs its spread, where the mean subtraction would cancel float32 digits). Every BN output is then
    O(1) (gamma·N(0, ~1) + beta), as in a trained network, instead of growing or
    collapsing through 50 layers. `inputs` (NCHW tensor) overrides the calibration batch
    (default: `structured_images(batch_shape)`); `forward(module, x)` replaces `module(x)`
    for the calibration pass (e.g. to run training-only heads in eval mode). Leaves the module in eval mode.
    """
    gen = torch.Generator().manual_seed(seed)
    batch_norms = []
    residual_last = set()  # the last BN of each residual branch
    for m in module.modules():
        if isinstance(getattr(m, "bn3", None), nn.modules.batchnorm._BatchNorm):
            residual_last.add(m.bn3)
        if getattr(m, "use_res", False):
            residual_last.add([b for b in m.conv.modules() if isinstance(b, nn.modules.batchnorm._BatchNorm)][-1])
    for name, m in module.named_modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            fan_out = m.weight.shape[0] * m.weight[0, 0].numel()
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype) * math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen, dtype=m.bias.dtype) * 0.05)
        elif isinstance(m, nn.Linear):
            fan_in = m.weight.shape[1]
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype) / math.sqrt(fan_in))
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen, dtype=m.bias.dtype) * 0.05)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.weight.copy_(0.5 + 0.5 * torch.rand(c, generator=gen, dtype=m.weight.dtype))
            if m in residual_last:
                m.weight.mul_(RESIDUAL_GAMMA)
            m.bias.copy_((torch.rand(c, generator=gen, dtype=m.bias.dtype) - 0.5) * 0.4)
            batch_norms.append(m)

    def calibrate(bn_module, args):
        x = args[0]
        dims = [d for d in range(x.ndim) if d != 1]
        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        # Per-channel floor: |input| ≤ ~2σ, so the mean subtraction loses no precision.
        # Pooled vectors (head BNs, BatchNorm1d): the between-image spread of a handful of
        # images is unreliable, so floor harder (a trained head BN sees spread ~ mean).
        floor = VAR_FLOOR if x.ndim == 4 and x.shape[2] * x.shape[3] > 1 else POOLED_VAR_FLOOR
        var = torch.maximum(var, floor * (var + mean**2)).clamp(min=1e-6)
        c = bn_module.num_features
        shift = (torch.rand(c, generator=gen, dtype=x.dtype) - 0.5) * 0.4 * var.sqrt()
        bn_module.running_mean.copy_(mean + shift)
        bn_module.running_var.copy_(var * (0.5 + 1.5 * torch.rand(c, generator=gen, dtype=x.dtype)))

    handles = [m.register_forward_pre_hook(calibrate) for m in batch_norms]
    module.eval()
    dtype = next(module.parameters()).dtype
    x = inputs if inputs is not None else structured_images(batch_shape, generator=gen)
    try:
        (forward or (lambda m, t: m(t)))(module, x.to(dtype))
    finally:
        for h in handles:
            h.remove()
    return module.eval()


def save_checkpoint(module, path, wrap=False, prefix="", legacy=False):
    state = {prefix + k: v for k, v in module.state_dict().items()}
    obj = {"state_dict": state, "epoch": 100, "rank1": 0.94} if wrap else state
    kwargs = {"_use_new_zipfile_serialization": False} if legacy else {}
    torch.save(obj, path, **kwargs)
    return path


@torch.no_grad()
def run(module, images_nhwc):
    x = torch.from_numpy(images_nhwc.transpose(0, 3, 1, 2).copy())
    out = module.eval()(x.to(next(module.parameters()).dtype))
    if isinstance(out, tuple):
        out = out[0]
    if out.ndim == 4:
        out = out.permute(0, 2, 3, 1)
    return out.numpy()
