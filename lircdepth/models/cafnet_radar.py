"""The teacher's radar branch: stage-1 encoder, confidence decoder, stage-2 encoder.

Stage 1 learns which radar returns can be trusted: sparse convolutions and a ResNet-18
encode the radar map, a U-Net decoder over image + radar features predicts a
per-pixel radar confidence C and a coarse dense radar depth. Stage 2 re-encodes the
radar map together with the coarse depth wherever C is high.
"""

from __future__ import annotations

import torch
from torch import nn

from lircdepth.models.bts_decoder import UpConv, batch_norm, conv3x3_elu
from lircdepth.models.resnet_encoders import RESNET_TAP_CHANNELS, ResNetPyramid
from lircdepth.models.sparse_conv import SparseConvStack

# Pyramid index (finest first) of the image + radar skips joined after each decoder
# level, from 1/16 up to full size (none there).
_SKIP_AFTER_LEVEL = (3, 2, 1, 0, None)


class RadarStage1Encoder(nn.Module):
    """Sparse convs (4 -> 3 channels) then a ResNet-18 pyramid (taps finest first)."""

    def __init__(self, radar_channels: int = 4, pretrained: bool = False) -> None:
        super().__init__()
        self.sparse = SparseConvStack(radar_channels)
        self.resnet = ResNetPyramid("resnet18", pretrained)

    def forward(self, radar: torch.Tensor) -> list[torch.Tensor]:
        return self.resnet(self.sparse(radar))


class RadarStage2Encoder(nn.Module):
    """3x3 conv + ELU from (gated coarse depth, radar map) to 3 channels, then ResNet-18."""

    def __init__(self, radar_channels: int = 4, pretrained: bool = False) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(radar_channels + 1, 3, 3, padding=1, bias=False), nn.ELU()
        )
        self.resnet = ResNetPyramid("resnet18", pretrained)

    def forward(self, gated_input: torch.Tensor) -> list[torch.Tensor]:
        return self.resnet(self.stem(gated_input))


class RadarDecoderLevel(nn.Sequential):
    """One U-Net level: upconv (nearest x2 + 3x3 conv + ELU), BN, 3x3 conv + ELU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            UpConv(in_channels, out_channels),
            batch_norm(out_channels),
            conv3x3_elu(out_channels, out_channels),
        )


class RadarConfidenceDecoder(nn.Module):
    """U-Net decoder over concatenated image and radar pyramids -> (confidence, coarse depth).

    Level widths are half the radar channels of the scale reached (256, 128, 64, 32,
    32); after each level the image and radar skips of that scale are concatenated.
    The head is a 3x3 conv to 2 channels + sigmoid: channel 0 * max_depth is the coarse
    depth in metres, channel 1 the confidence C in [0, 1].
    """

    def __init__(
        self,
        image_channels: tuple[int, ...] = RESNET_TAP_CHANNELS,
        radar_channels: tuple[int, ...] = RESNET_TAP_CHANNELS,
        max_depth: float = 100.0,
    ) -> None:
        super().__init__()
        self.max_depth = max_depth
        widths = [channels // 2 for channels in reversed(radar_channels)]
        levels, in_channels = [], image_channels[4] + radar_channels[4]
        for width, skip in zip(widths, _SKIP_AFTER_LEVEL, strict=True):
            levels.append(RadarDecoderLevel(in_channels, width))
            in_channels = width + (
                image_channels[skip] + radar_channels[skip] if skip is not None else 0
            )
        self.levels = nn.ModuleList(levels)
        self.head = nn.Conv2d(in_channels, 2, 3, padding=1, bias=False)

    def forward(
        self, image_features: list[torch.Tensor], radar_features: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([image_features[4], radar_features[4]], dim=1)
        for level, skip in zip(self.levels, _SKIP_AFTER_LEVEL, strict=True):
            x = level(x)
            if skip is not None:
                x = torch.cat([image_features[skip], radar_features[skip], x], dim=1)
        depth_and_confidence = torch.sigmoid(self.head(x))
        coarse_depth = self.max_depth * depth_and_confidence[:, 0:1]
        return depth_and_confidence[:, 1:2], coarse_depth
