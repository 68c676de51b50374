"""LiRCDepth, the student: MobileNetV2 image + radar encoders, additive fusion and a
transposed-inverted-residual decoder with intermediate depths (method.md section 2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import conv_relu, transposed_stage
from .encoders import image_encoder, radar_encoder
from .initialisation import xavier_init_conv2d

DECODER_WIDTHS = (512, 128, 128, 64, 32)  # F5, F4, F3, F2, F1: the teacher's decoder widths


@dataclass
class StudentOutput:
    """Everything the distillation losses need; `depth` is the prediction in metres."""

    decoder_features: list[torch.Tensor]  # [F5, F4, F3, F2, F1], deepest first
    image_features: list[torch.Tensor]  # 5 levels, finest first
    radar_features: list[torch.Tensor]  # 5 levels, finest first
    inter_depths: list[torch.Tensor]  # [d8, d4, d2] at full size, in units of max_depth
    depth: torch.Tensor  # B x 1 x H x W metres


def _upsample_to(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="nearest")


class StudentDecoder(nn.Module):
    """Additive radar fusion per scale, then four transposed stages and the full-size head.

    When the radar taps are as wide as the image taps (no feature distillation) they are
    added directly, as published; otherwise a 1x1 conv + ReLU per scale maps them to the
    image widths first (`fusion`).
    """

    def __init__(
        self, image_channels: tuple[int, ...], radar_channels: tuple[int, ...], max_depth: float
    ):
        super().__init__()
        c1, c2, c3, c4, c5 = image_channels
        w5, w4, w3, w2, w1 = DECODER_WIDTHS
        self.max_depth = max_depth
        self.fusion = (
            None
            if tuple(radar_channels) == tuple(image_channels)
            else nn.ModuleList(
                conv_relu(r, i) for r, i in zip(radar_channels, image_channels, strict=True)
            )
        )
        # Narrow inner widths (w/16, w/8, w/4, w/2) keep the decoder light, as in the reference.
        self.stage5 = transposed_stage([c5, w5 // 16, w5 // 16, w5])
        self.stage4 = transposed_stage([w5 + c4, *[w4 // 8] * 7, w4])
        self.stage3 = transposed_stage([w4 + c3, w3 // 4, w3 // 4, w3])
        self.stage2 = transposed_stage([w3 + c2, w2 // 2, w2])
        self.up1 = nn.ConvTranspose2d(
            w2 + c1, w1, 3, stride=2, padding=1, output_padding=1, bias=False
        )
        self.head8 = conv_relu(w4, 1)
        self.head4 = conv_relu(w3, 1)
        self.head2 = conv_relu(w2, 1)
        self.head1 = conv_relu(w1, 1)
        self.refine = conv_relu(w1 + 4, w1, kernel_size=3)
        self.depth_head = nn.Conv2d(w1, 1, 3, padding=1, bias=False)

    def forward(
        self, image_features: list[torch.Tensor], radar_features: list[torch.Tensor]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """Returns decoder features [F5..F1], intermediate depths [d8, d4, d2] (full size), depth."""
        if self.fusion is not None:
            radar_features = [fuse(r) for fuse, r in zip(self.fusion, radar_features, strict=True)]
        s1, s2, s3, s4, s5 = (i + r for i, r in zip(image_features, radar_features, strict=True))
        f5 = self.stage5(s5)
        f4 = self.stage4(torch.cat([f5, s4], 1))
        f3 = self.stage3(torch.cat([f4, s3], 1))
        f2 = self.stage2(torch.cat([f3, s2], 1))
        up = self.up1(torch.cat([f2, s1], 1))
        size = up.shape[-2:]
        inter = [
            _upsample_to(self.head8(f4), size),
            _upsample_to(self.head4(f3), size),
            _upsample_to(self.head2(f2), size),
        ]
        f1 = self.refine(torch.cat([up, *inter, self.head1(up)], 1))
        depth = self.max_depth * torch.sigmoid(self.depth_head(f1))
        return [f5, f4, f3, f2, f1], inter, depth


class LiRCDepth(nn.Module):
    """The lightweight student. `forward` returns a StudentOutput, `predict` only the depth.

    feature_distill: map the encoder taps to the teacher's widths (the published setting,
    12,645,228 parameters); without it the raw MobileNetV2 taps are returned and the
    radar taps added directly to the image taps (the authors' no-distillation baseline,
    17,359,100 parameters: the 1/32 taps stay 1280 wide, so the decoder is larger).
    The decoder starts xavier-initialised, as published.
    """

    def __init__(
        self,
        max_depth: float = 100.0,
        feature_distill: bool = True,
        pretrained: bool = False,
        radar_channels: int = 4,
    ):
        super().__init__()
        self.max_depth = float(max_depth)
        self.image_encoder = image_encoder(feature_distill, pretrained)
        self.radar_encoder = radar_encoder(radar_channels, feature_distill, pretrained)
        self.decoder = StudentDecoder(
            self.image_encoder.out_channels, self.radar_encoder.out_channels, self.max_depth
        )
        xavier_init_conv2d(self.decoder)

    def _check_inputs(self, image: torch.Tensor, radar: torch.Tensor) -> None:
        height, width = image.shape[-2:]
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be B x 3 x H x W, got {tuple(image.shape)}")
        if radar.shape[0] != image.shape[0] or radar.shape[-2:] != image.shape[-2:]:
            raise ValueError(
                f"radar {tuple(radar.shape)} does not match image {tuple(image.shape)}"
            )
        if height % 32 or width % 32:
            raise ValueError(f"H and W must be divisible by 32, got {height} x {width}")

    def forward(self, image: torch.Tensor, radar: torch.Tensor) -> StudentOutput:
        self._check_inputs(image, radar)
        image_features = self.image_encoder(image)
        radar_features = self.radar_encoder(radar)
        decoder_features, inter_depths, depth = self.decoder(image_features, radar_features)
        return StudentOutput(decoder_features, image_features, radar_features, inter_depths, depth)

    def predict(self, image: torch.Tensor, radar: torch.Tensor) -> torch.Tensor:
        """Depth only (B x 1 x H x W metres), without autograd or the training outputs."""
        with torch.inference_mode():
            return self.forward(image, radar).depth
