"""PyTorch reference PCB / SA-PCB modules for converter parity tests (test-only, from the spec).

shared/specs/upstream_csa_pcb_sapcb.md: torchreid `pcb_p6` (§2.3, §2.5: body without
prefix or `fc`, `conv5.layers.{0,1}`, `classifier.{i}`), layumi `PCB` (§2.4: body under
`model.` with its unused `fc`, per-part `classifier{i}.add_block.{0,1}` /
`classifier{i}.classifier.0`) and HRanWang SA-PCB (§3.1–3.4: body under `base.`,
code-mode spatial attention, `local_conv_layer{k}`, `instance{0..6}`,
`instance_layer{k}`, the unused `fusion_conv`). Module names reproduce the upstream
state-dict keys exactly.
"""

import torch
import torch.nn.functional as F
from torch import nn

from tests.conversion.torch_reference import ResNetBody, TorchvisionResNet50


class _Body(ResNetBody):
    """torchvision ResNet-50 body, last stride 1, no `fc` (torchreid's own ResNet)."""

    def __init__(self):
        super().__init__(last_stride=1)


def _last_stride_1_torchvision():
    """torchvision resnet50 (with its unused `fc`) whose layer4 has stride 1 (layumi, HRanWang)."""
    model = TorchvisionResNet50(last_stride=1)
    return model


class DimReduceLayer(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)
        )

    def forward(self, x):
        return self.layers(x)


class TorchreidPCB(_Body):
    """torchreid `pcb_p6`: eval output = F.normalize of the (B, 2048, 6, 1) parts, flattened."""

    def __init__(self, num_classes, parts=6, reduced_dim=256):
        super().__init__()
        self.parts = parts
        self.parts_avgpool = nn.AdaptiveAvgPool2d((parts, 1))
        self.dropout = nn.Dropout(p=0.5)
        self.conv5 = DimReduceLayer(2048, reduced_dim)
        self.classifier = nn.ModuleList([nn.Linear(reduced_dim, num_classes) for _ in range(parts)])

    def forward(self, x):
        v_g = self.parts_avgpool(self.features(x))
        if not self.training:
            return F.normalize(v_g, p=2, dim=1).view(v_g.size(0), -1)
        raise NotImplementedError("test reference: eval only")

    def logits(self, x):
        v_h = self.conv5(self.dropout(self.parts_avgpool(self.features(x))))
        return [self.classifier[i](v_h[:, :, i, 0]) for i in range(self.parts)]


class ClassBlock(nn.Module):
    """layumi `ClassBlock(2048, K, droprate=0.5, linear=256, relu=False, bnorm=True)`."""

    def __init__(self, input_dim, class_num, linear=256):
        super().__init__()
        self.add_block = nn.Sequential(nn.Linear(input_dim, linear), nn.BatchNorm1d(linear), nn.Dropout(p=0.5))
        self.classifier = nn.Sequential(nn.Linear(linear, class_num))

    def forward(self, x):
        return self.classifier(self.add_block(x))


class LayumiPCB(nn.Module):
    """layumi `PCB`; eval forward = `PCB_test` + test.py's per-part norm × √6 (no flip TTA)."""

    def __init__(self, class_num, parts=6):
        super().__init__()
        self.part = parts
        self.model = _last_stride_1_torchvision()
        self.avgpool = nn.AdaptiveAvgPool2d((parts, 1))
        self.dropout = nn.Dropout(p=0.5)
        for i in range(parts):
            setattr(self, f"classifier{i}", ClassBlock(2048, class_num))

    def forward(self, x):
        f = self.avgpool(self.model.features(x)).view(x.size(0), 2048, self.part)
        fnorm = torch.norm(f, p=2, dim=1, keepdim=True) * (self.part**0.5)
        return f.div(fnorm.expand_as(f)).view(f.size(0), -1)


class SpatialAttn(nn.Module):
    """HRanWang `SpatialAttn` (code mode): channel mean, per-sample L1 normalisation."""

    def forward(self, x):
        x = x.mean(1, keepdim=True)
        h, w = x.size(2), x.size(3)
        x = x.view(x.size(0), -1)
        z = x / x.sum(1, keepdim=True)
        return z.view(x.size(0), 1, h, w)


class SAPCB(nn.Module):
    """HRanWang `reSAnet` at any input whose stage-4 height is ≥ 6.

    Upstream hard-codes the DS pool kernels (96,32)/(48,16)/(24,8), i.e. the whole map
    at 384×128; here the whole map at any size. forward (eval) returns `out0`.
    """

    def __init__(self, num_classes=751, num_features=256):
        super().__init__()
        self.base = _last_stride_1_torchvision()
        self.local_conv = nn.Conv2d(2048, num_features, 1, bias=False)
        self.local_conv_layer1 = nn.Conv2d(256, num_features, 1, bias=False)
        self.local_conv_layer2 = nn.Conv2d(512, num_features, 1, bias=False)
        self.local_conv_layer3 = nn.Conv2d(1024, num_features, 1, bias=False)
        self.feat_bn2d = nn.BatchNorm2d(num_features)
        for i in range(7):
            setattr(self, f"instance{i}", nn.Linear(num_features, num_classes))
        for k in (1, 2, 3):
            setattr(self, f"instance_layer{k}", nn.Linear(num_features, num_classes))
        self.fusion_conv = nn.Conv1d(4, 1, kernel_size=1, bias=False)
        self.sa = SpatialAttn()
        self.drop = nn.Dropout(0.5)

    def _trunk(self, x):
        b = self.base
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x1 = b.layer1(x)
        x2 = b.layer2(x1)
        x3 = b.layer3(x2)
        return x1, x2, x3, b.layer4(x3)

    @staticmethod
    def _stripes(x):
        sx = x.size(2) // 6
        kx = x.size(2) - sx * 5
        return F.avg_pool2d(x, kernel_size=(kx, x.size(3)), stride=(sx, x.size(3)))

    def forward(self, x):
        x = self._stripes(self._trunk(x)[3])
        return (x / x.norm(2, 1, keepdim=True)).view(x.size(0), -1)  # out0 (no epsilon upstream)

    def logits(self, x):
        """Eval-mode logits: ([c0..c5], c6, [layer1, layer2, layer3])."""
        x1, x2, x3, x4 = self._trunk(x)
        ds = []
        for k, feat in enumerate((x1, x2, x3), start=1):
            a = feat * self.sa(feat)
            a = F.avg_pool2d(a, a.size()[2:])
            a = getattr(self, f"local_conv_layer{k}")(a).view(a.size(0), -1)
            ds.append(getattr(self, f"instance_layer{k}")(a))
        h = F.relu(self.feat_bn2d(self.local_conv(self.drop(self._stripes(x4)))))
        parts = [getattr(self, f"instance{i}")(h[:, :, i, 0]) for i in range(6)]
        glob = self.instance6(h.mean(dim=(2, 3)))
        return parts, glob, ds
