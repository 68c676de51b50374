"""The student's image and radar encoders: MobileNetV2 with five skip taps."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import conv_relu
from .pretrained import mobilenet_v2_backbone

# MobileNetV2 features split after blocks 2, 4, 7, 11 and 19: strides 2, 4, 8, 16, 32.
TAP_ENDS = (2, 4, 7, 11, 19)
TAP_CHANNELS = (16, 24, 32, 64, 1280)
# Teacher channels the taps are mapped to for feature distillation (finest first).
TEACHER_IMAGE_CHANNELS = (64, 64, 128, 256, 512)
TEACHER_RADAR_CHANNELS = (64, 128, 128, 512, 512)


class MobileNetV2Taps(nn.Module):
    """MobileNetV2 features as five stages; returns the output of each (finest first)."""

    def __init__(self, pretrained: bool = False):
        super().__init__()
        features = mobilenet_v2_backbone(pretrained)
        starts = (0,) + TAP_ENDS[:-1]
        self.stages = nn.ModuleList(features[a:b] for a, b in zip(starts, TAP_ENDS, strict=True))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for stage in self.stages:
            x = stage(x)
            taps.append(x)
        return taps


class TapEncoder(nn.Module):
    """A stem, MobileNetV2 taps, and (for distillation) 1x1 conv + ReLU maps to teacher widths."""

    def __init__(self, stem: nn.Module, out_channels: tuple[int, ...] | None, pretrained: bool):
        super().__init__()
        self.stem = stem
        self.backbone = MobileNetV2Taps(pretrained)
        self.projections = (
            nn.ModuleList(
                conv_relu(cin, cout) for cin, cout in zip(TAP_CHANNELS, out_channels, strict=True)
            )
            if out_channels is not None
            else None
        )
        self.out_channels = tuple(out_channels or TAP_CHANNELS)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = self.backbone(self.stem(x))
        if self.projections is None:
            return taps
        return [project(tap) for project, tap in zip(self.projections, taps, strict=True)]


def image_encoder(feature_distill: bool = True, pretrained: bool = False) -> TapEncoder:
    """MobileNetV2 on the normalised RGB image."""
    return TapEncoder(
        nn.Identity(), TEACHER_IMAGE_CHANNELS if feature_distill else None, pretrained
    )


def radar_encoder(
    radar_channels: int = 4, feature_distill: bool = True, pretrained: bool = False
) -> TapEncoder:
    """3x3 conv (radar -> 3 channels, no bias) + ReLU, then its own MobileNetV2."""
    stem = conv_relu(radar_channels, 3, kernel_size=3)
    return TapEncoder(stem, TEACHER_RADAR_CHANNELS if feature_distill else None, pretrained)
