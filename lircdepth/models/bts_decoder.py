"""The teacher's depth decoder: BTS (Lee et al., 2019) with confidence-aware gated fusion.

BTS upsamples with "upconv" blocks, widens the receptive field at 1/8 with a dense ASPP
and predicts depth at 1/8, 1/4 and 1/2 as local planes that are expanded to full size
(local planar guidance). CaFNet adds, at every scale from 1/32 to 1/2, the radar
feature r gated by the radar confidence C:

    g = sigmoid(conv1x1(r)) * relu(conv1x1'(r)) * avgpool(C)

and adds g to the image stream, so radar only speaks where the confidence is high.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# BatchNorm settings of BTS (a TensorFlow port): slow running statistics and eps 1.1e-5,
# except inside each dense-ASPP branch, where the published code keeps torch's eps 1e-5.
BN_MOMENTUM, BN_EPS, DASPP_INNER_BN_EPS = 0.01, 1.1e-5, 1e-5
DASPP_DILATIONS = (3, 6, 12, 18, 24)


def batch_norm(channels: int, eps: float = BN_EPS) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=eps, momentum=BN_MOMENTUM)


def conv3x3_elu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.ELU())


class UpConv(nn.Module):
    """Nearest-neighbour x2 upsampling, then 3x3 conv + ELU (no checkerboard artefacts)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = conv3x3_elu(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class AtrousBranch(nn.Sequential):
    """One dense-ASPP branch: [BN] ReLU 1x1 conv (2*out) BN ReLU dilated 3x3 conv (out).

    The inner BN uses eps 1e-5 (the published value), the optional first one 1.1e-5.
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int, bn_first: bool) -> None:
        layers: list[nn.Module] = [batch_norm(in_channels)] if bn_first else []
        layers += [
            nn.ReLU(),
            nn.Conv2d(in_channels, 2 * out_channels, 1, bias=False),
            batch_norm(2 * out_channels, eps=DASPP_INNER_BN_EPS),
            nn.ReLU(),
            nn.Conv2d(
                2 * out_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False
            ),
        ]
        super().__init__(*layers)


class DenseAspp(nn.Module):
    """Dense ASPP at 1/8: each branch sees the block input and every earlier branch.

    The first branch reads `features`; the others read concat(`context`, earlier
    branches); the output fuses concat(`features`, all branches) with a 3x3 conv + ELU.
    """

    def __init__(self, feature_channels: int, context_channels: int, branch_channels: int) -> None:
        super().__init__()
        branches = [
            AtrousBranch(feature_channels, branch_channels, DASPP_DILATIONS[0], bn_first=False)
        ]
        for index, dilation in enumerate(DASPP_DILATIONS[1:]):
            in_channels = context_channels + (index + 1) * branch_channels
            branches.append(AtrousBranch(in_channels, branch_channels, dilation, bn_first=True))
        self.branches = nn.ModuleList(branches)
        fused = feature_channels + len(DASPP_DILATIONS) * branch_channels
        self.fuse = conv3x3_elu(fused, branch_channels)

    def forward(self, features: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        outputs = [self.branches[0](features)]
        for branch in self.branches[1:]:
            outputs.append(branch(torch.cat([context, *outputs], dim=1)))
        return self.fuse(torch.cat([features, *outputs], dim=1))


def reduction_layers(in_channels: int, out_channels: int, final_channels: int) -> nn.Sequential:
    """1x1 convs + ELU halving the width from `out_channels` down to 8, then a 1x1 conv
    to `final_channels` (no activation): the BTS "reduction" to a few plane parameters."""
    layers: list[nn.Module] = []
    while out_channels >= 8:
        layers += [nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.ELU()]
        in_channels, out_channels = out_channels, out_channels // 2
    layers.append(nn.Conv2d(in_channels, final_channels, 1, bias=False))
    return nn.Sequential(*layers)


def local_planar_guidance(plane: torch.Tensor, upratio: int) -> torch.Tensor:
    """Expand per-pixel planes (B x 4 x h x w: unit normal n1..n3, distance n4) to depth
    at h*upratio x w*upratio: depth = n4 / (n1 u + n2 v + n3), with (u, v) the pixel's
    normalised offset from its block centre."""
    expanded = plane.repeat_interleave(upratio, dim=2).repeat_interleave(upratio, dim=3)
    offsets = (
        torch.arange(upratio, device=plane.device, dtype=plane.dtype) - (upratio - 1) / 2
    ) / upratio
    height, width = expanded.shape[-2:]
    u = offsets.repeat(width // upratio).view(1, 1, width)
    v = offsets.repeat(height // upratio).view(1, height, 1)
    n1, n2, n3, n4 = expanded.unbind(dim=1)
    return (n4 / (n1 * u + n2 * v + n3)).unsqueeze(1)


class PlanarDepthHead(nn.Module):
    """Features at 1/`upratio` -> full-size depth normalised by max_depth, via local planes.

    The plane's normal is parameterised by polar angle theta in [0, pi/3] and azimuth
    phi in [0, 2 pi], its distance by sigmoid * max_depth.
    """

    def __init__(self, in_channels: int, reduce_to: int, upratio: int, max_depth: float) -> None:
        super().__init__()
        self.reduce = reduction_layers(in_channels, reduce_to, 3)
        self.upratio, self.max_depth = upratio, max_depth

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        theta_raw, phi_raw, dist_raw = torch.sigmoid(self.reduce(features)).unbind(dim=1)
        theta, phi = theta_raw * (math.pi / 3), phi_raw * (2 * math.pi)
        plane = torch.stack(
            [
                torch.sin(theta) * torch.cos(phi),
                torch.sin(theta) * torch.sin(phi),
                torch.cos(theta),
                dist_raw * self.max_depth,
            ],
            dim=1,
        )
        return local_planar_guidance(plane, self.upratio) / self.max_depth


class GatedRadarFusion(nn.Module):
    """sigmoid(1x1 conv(r)) * relu(1x1 conv(r)) * C: the radar contribution at one scale."""

    def __init__(self, radar_channels: int, out_channels: int) -> None:
        super().__init__()
        self.gate = nn.Conv2d(radar_channels, out_channels, 1, bias=False)
        self.project = nn.Conv2d(radar_channels, out_channels, 1, bias=False)

    def forward(self, radar: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.gate(radar)) * F.relu(self.project(radar)) * confidence


class GatedBTSDecoder(nn.Module):
    """BTS decoder with gated radar fusion at 1/32, 1/16, 1/8, 1/4 and 1/2.

    forward(image_features, radar_features, confidence) takes both pyramids finest first
    (1/2 .. 1/32) and the full-size radar confidence, and returns
    (decoder features [1/16: nf, 1/8: nf/4, 1/4: nf/4, 1/2: nf/8, 1: nf/16] deepest first,
     the 1/16 one before its gated radar feature is added,
     gated radar features [1/2: nf/8, 1/4: nf/4, 1/8: nf/4, 1/16: nf, 1/32: C5] finest first,
     intermediate depths [from 1/8, 1/4, 1/2] full size / max_depth,
     final depth in metres).
    """

    def __init__(
        self,
        image_channels: tuple[int, ...] = (64, 64, 128, 256, 512),
        radar_channels: tuple[int, ...] = (64, 64, 128, 256, 512),
        num_features: int = 512,
        max_depth: float = 100.0,
    ) -> None:
        super().__init__()
        nf, skip = num_features, image_channels
        self.max_depth = max_depth
        gate_channels = (nf // 8, nf // 4, nf // 4, nf, skip[4])
        self.gates = nn.ModuleList(
            GatedRadarFusion(r, g) for r, g in zip(radar_channels, gate_channels, strict=True)
        )

        self.upconv5, self.bn5 = UpConv(skip[4], nf), batch_norm(nf)
        self.conv5 = conv3x3_elu(nf + skip[3], nf)
        self.upconv4, self.bn4 = UpConv(nf, nf // 2), batch_norm(nf // 2)
        self.conv4, self.bn4_2 = conv3x3_elu(nf // 2 + skip[2], nf // 2), batch_norm(nf // 2)
        self.daspp = DenseAspp(nf // 2, nf // 2 + skip[2], nf // 4)
        self.depth8 = PlanarDepthHead(nf // 4, nf // 4, 8, max_depth)
        self.upconv3, self.bn3 = UpConv(nf // 4, nf // 4), batch_norm(nf // 4)
        self.conv3 = conv3x3_elu(nf // 4 + skip[1] + 1, nf // 4)
        self.depth4 = PlanarDepthHead(nf // 4, nf // 8, 4, max_depth)
        self.upconv2, self.bn2 = UpConv(nf // 4, nf // 8), batch_norm(nf // 8)
        self.conv2 = conv3x3_elu(nf // 8 + skip[0] + 1, nf // 8)
        self.depth2 = PlanarDepthHead(nf // 8, nf // 16, 2, max_depth)
        self.upconv1 = UpConv(nf // 8, nf // 16)
        self.reduc1x1 = nn.Sequential(reduction_layers(nf // 16, nf // 32, 1), nn.Sigmoid())
        self.conv1 = conv3x3_elu(nf // 16 + 4, nf // 16)
        self.get_depth = nn.Conv2d(nf // 16, 1, 3, padding=1, bias=False)

    def forward(
        self,
        image_features: list[torch.Tensor],
        radar_features: list[torch.Tensor],
        confidence: torch.Tensor,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        i1, i2, i3, i4, i5 = image_features
        gated = [
            gate(radar, F.avg_pool2d(confidence, 2 ** (level + 1)))
            for level, (gate, radar) in enumerate(zip(self.gates, radar_features, strict=True))
        ]
        g1, g2, g3, g4, g5 = gated

        x5 = F.relu(i5) + g5
        # F5 is the feature before the 1/16 radar contribution (as published); only the
        # stream to 1/8 carries g4. At the other scales the feature includes its g.
        f5 = self.conv5(torch.cat([self.bn5(self.upconv5(x5)), i4], dim=1))
        concat4 = torch.cat([self.bn4(self.upconv4(f5 + g4)), i3], dim=1)
        f4 = self.daspp(self.bn4_2(self.conv4(concat4)), concat4) + g3
        depth8 = self.depth8(f4)

        up3 = self.bn3(self.upconv3(f4))
        f3 = self.conv3(torch.cat([up3, i2, _resize_nearest(depth8, up3)], dim=1)) + g2
        depth4 = self.depth4(f3)

        up2 = self.bn2(self.upconv2(f3))
        f2 = self.conv2(torch.cat([up2, i1, _resize_nearest(depth4, up2)], dim=1)) + g1
        depth2 = self.depth2(f2)

        up1 = self.upconv1(f2)
        f1 = self.conv1(torch.cat([up1, self.reduc1x1(up1), depth2, depth4, depth8], dim=1))
        depth = self.max_depth * torch.sigmoid(self.get_depth(f1))
        return [f5, f4, f3, f2, f1], gated, [depth8, depth4, depth2], depth


def _resize_nearest(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="nearest")
