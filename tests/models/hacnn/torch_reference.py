"""A PyTorch reference HA-CNN written from the spec (torchreid `hacnn` layout), test-only.

Module names match upstream exactly, so `build_reference(num_classes).state_dict()` has the
535 keys of the spec (§2.4) and a converter can be checked against it.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ConvBlock(nn.Module):
    def __init__(self, in_c, out_c, k, s=1, p=0):
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, k, stride=s, padding=p)
        self.bn = nn.BatchNorm2d(out_c)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        mid = out_channels // 4
        self.stream1 = nn.Sequential(ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, p=1))
        self.stream2 = nn.Sequential(ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, p=1))
        self.stream3 = nn.Sequential(ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, p=1))
        self.stream4 = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), ConvBlock(in_channels, mid, 1))

    def forward(self, x):
        return torch.cat([self.stream1(x), self.stream2(x), self.stream3(x), self.stream4(x)], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        mid = out_channels // 4
        self.stream1 = nn.Sequential(ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, s=2, p=1))
        self.stream2 = nn.Sequential(
            ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, p=1), ConvBlock(mid, mid, 3, s=2, p=1)
        )
        self.stream3 = nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1), ConvBlock(in_channels, mid * 2, 1))

    def forward(self, x):
        return torch.cat([self.stream1(x), self.stream2(x), self.stream3(x)], 1)


class SpatialAttn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvBlock(1, 1, 3, s=2, p=1)
        self.conv2 = ConvBlock(1, 1, 1)

    def forward(self, x):
        x = x.mean(1, keepdim=True)
        x = self.conv1(x)
        x = F.interpolate(x, (x.size(2) * 2, x.size(3) * 2), mode="bilinear", align_corners=True)
        return self.conv2(x)


class ChannelAttn(nn.Module):
    def __init__(self, in_channels, reduction_rate=16):
        super().__init__()
        self.conv1 = ConvBlock(in_channels, in_channels // reduction_rate, 1)
        self.conv2 = ConvBlock(in_channels // reduction_rate, in_channels, 1)

    def forward(self, x):
        x = F.avg_pool2d(x, x.size()[2:])
        return self.conv2(self.conv1(x))


class SoftAttn(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.spatial_attn = SpatialAttn()
        self.channel_attn = ChannelAttn(in_channels)
        self.conv = ConvBlock(in_channels, in_channels, 1)

    def forward(self, x):
        y = self.spatial_attn(x) * self.channel_attn(x)
        return torch.sigmoid(self.conv(y))


class HardAttn(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.fc = nn.Linear(in_channels, 4 * 2)
        self.fc.weight.data.zero_()
        self.fc.bias.data.copy_(torch.tensor([0, -0.75, 0, -0.25, 0, 0.25, 0, 0.75], dtype=torch.float))

    def forward(self, x):
        x = F.avg_pool2d(x, x.size()[2:]).view(x.size(0), x.size(1))
        return torch.tanh(self.fc(x)).view(-1, 4, 2)


class HarmAttn(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.soft_attn = SoftAttn(in_channels)
        self.hard_attn = HardAttn(in_channels)

    def forward(self, x):
        return self.soft_attn(x), self.hard_attn(x)


class HACNN(nn.Module):
    def __init__(self, num_classes, nchannels=(128, 256, 384), feat_dim=512, learn_region=True, align_corners=False):
        super().__init__()
        self.learn_region = learn_region
        self.align_corners = align_corners
        self.conv = ConvBlock(3, 32, 3, s=2, p=1)
        self.inception1 = nn.Sequential(InceptionA(32, nchannels[0]), InceptionB(nchannels[0], nchannels[0]))
        self.ha1 = HarmAttn(nchannels[0])
        self.inception2 = nn.Sequential(InceptionA(nchannels[0], nchannels[1]), InceptionB(nchannels[1], nchannels[1]))
        self.ha2 = HarmAttn(nchannels[1])
        self.inception3 = nn.Sequential(InceptionA(nchannels[1], nchannels[2]), InceptionB(nchannels[2], nchannels[2]))
        self.ha3 = HarmAttn(nchannels[2])
        self.fc_global = nn.Sequential(nn.Linear(nchannels[2], feat_dim), nn.BatchNorm1d(feat_dim), nn.ReLU())
        self.classifier_global = nn.Linear(feat_dim, num_classes)
        if learn_region:
            self.local_conv1 = InceptionB(32, nchannels[0])
            self.local_conv2 = InceptionB(nchannels[0], nchannels[1])
            self.local_conv3 = InceptionB(nchannels[1], nchannels[2])
            self.fc_local = nn.Sequential(nn.Linear(nchannels[2] * 4, feat_dim), nn.BatchNorm1d(feat_dim), nn.ReLU())
            self.classifier_local = nn.Linear(feat_dim, num_classes)

    def stn(self, x, theta):
        grid = F.affine_grid(theta, x.size(), align_corners=self.align_corners)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=self.align_corners)

    @staticmethod
    def transform_theta(theta_i):
        scale = torch.zeros(theta_i.size(0), 2, 2, dtype=theta_i.dtype)
        scale[:, 0, 0] = 1
        scale[:, 1, 1] = 0.25
        return torch.cat([scale, theta_i.unsqueeze(2)], dim=2)

    def forward(self, x):
        assert x.size(2) == 160 and x.size(3) == 64
        x = self.conv(x)
        inputs, thetas = [], []
        for inception, ha in ((self.inception1, self.ha1), (self.inception2, self.ha2), (self.inception3, self.ha3)):
            inputs.append(x)
            y = inception(x)
            attn, theta = ha(y)
            thetas.append(theta)
            x = y * attn
        x_global = self.fc_global(F.avg_pool2d(x, x.size()[2:]).view(x.size(0), x.size(1)))
        if self.learn_region:
            local_feats = []
            sizes = ((24, 28), (12, 14), (6, 7))
            convs = (self.local_conv1, self.local_conv2, self.local_conv3)
            for region in range(4):
                local = None
                for level in range(3):
                    trans = self.stn(inputs[level], self.transform_theta(thetas[level][:, region, :]))
                    trans = F.interpolate(trans, sizes[level], mode="bilinear", align_corners=True)
                    if local is not None:
                        trans = trans + local
                    local = convs[level](trans)
                local_feats.append(F.avg_pool2d(local, local.size()[2:]).view(local.size(0), -1))
            x_local = self.fc_local(torch.cat(local_feats, 1))
        if not self.training:
            if self.learn_region:
                x_global = x_global / x_global.norm(p=2, dim=1, keepdim=True)
                x_local = x_local / x_local.norm(p=2, dim=1, keepdim=True)
                return torch.cat([x_global, x_local], 1)
            return x_global
        if self.learn_region:
            return self.classifier_global(x_global), self.classifier_local(x_local)
        return self.classifier_global(x_global)


def build_reference(num_classes, **kwargs):
    """The reference torch HA-CNN (upstream module names; `state_dict` has 535 keys)."""
    return HACNN(num_classes, **kwargs)


def calibration_forward(seed):
    """A `forward(module, x)` for `randomize(..., forward=...)`: sets the hard-attention θ
    layers as a trained model's (near torchreid's initial stripes, varying per sample:
    small weights), then runs the module, so the BN calibration pass sees the local
    branch's realistic inputs. `randomize` initialises every weight before this runs.
    """
    gen = torch.Generator().manual_seed(seed)

    def forward(module, x):
        with torch.no_grad():
            for k in (1, 2, 3):
                fc = getattr(module, f"ha{k}").hard_attn.fc
                fc.weight.mul_(0.05)
                fc.bias.copy_(torch.tensor([0, -0.75, 0, -0.25, 0, 0.25, 0, 0.75]) + 0.1 * torch.randn(8, generator=gen))
        return module(x)

    return forward
