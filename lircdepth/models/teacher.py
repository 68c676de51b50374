"""CaFNet, the teacher: confidence-aware radar-camera fusion in two stages.

Stage 1 estimates where the radar can be trusted (confidence C) and a coarse radar
depth; stage 2 re-encodes the radar map with the coarse depth kept where C > 0.4, and a
BTS decoder fuses the gated radar features into the ResNet-34 image stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from lircdepth.models.bts_decoder import GatedBTSDecoder
from lircdepth.models.cafnet_radar import (
    RadarConfidenceDecoder,
    RadarStage1Encoder,
    RadarStage2Encoder,
)
from lircdepth.models.initialisation import xavier_init_conv2d
from lircdepth.models.resnet_encoders import ResNetPyramid
from lircdepth.models.sparse_conv import SparseConv

# Inputs must be divisible by the deepest feature stride.
INPUT_STRIDE = 32


@dataclass
class TeacherOutput:
    """Everything the student distils from, plus the teacher's own training targets.

    decoder_features: [F5 1/16 x 512, F4 1/8 x 128, F3 1/4 x 128, F2 1/2 x 64, F1 1 x 32],
        deepest first, aligned with the student's decoder features. F5 is taken before
        the gated 1/16 radar feature is added (as published); F4..F2 include theirs.
    image_features: ResNet-34 taps finest first: 1/2 x 64, 1/4 x 64, 1/8 x 128,
        1/16 x 256, 1/32 x 512.
    radar_features: the gated radar features sigmoid(w r) * relu(p r) * avgpool(C),
        FINEST FIRST: 1/2 x 64, 1/4 x 128, 1/8 x 128, 1/16 x 512, 1/32 x 512, so that
        radar_features[i] has the shape of the student's radar_features[i] (the
        reference teacher lists them deepest first; this is that list reversed).
    inter_depths: [from 1/8, 1/4, 1/2] local-planar depths, full size, / max_depth.
    depth: B x 1 x H x W metres, max_depth * sigmoid.
    confidence: B x 1 x H x W radar confidence C in [0, 1].
    coarse_depth: B x 1 x H x W coarse radar depth in metres (max_depth * sigmoid).
    """

    decoder_features: list[torch.Tensor]
    image_features: list[torch.Tensor]
    radar_features: list[torch.Tensor]
    inter_depths: list[torch.Tensor]
    depth: torch.Tensor
    confidence: torch.Tensor
    coarse_depth: torch.Tensor


class CaFNet(nn.Module):
    """The teacher network; `CaFNet(**model_config)` with any subset of the arguments.

    pretrained: initialise the three ResNets from torchvision's ImageNet weights
    (a RuntimeError says so when they are neither cached nor downloadable). Both
    decoders start xavier-initialised, as published.
    """

    def __init__(
        self,
        max_depth: float = 100.0,
        pretrained: bool = False,
        radar_channels: int = 4,
        confidence_threshold: float = 0.4,
        num_features: int = 512,
    ) -> None:
        super().__init__()
        self.max_depth = float(max_depth)
        self.radar_channels = radar_channels
        self.confidence_threshold = confidence_threshold
        self.image_encoder = ResNetPyramid("resnet34", pretrained)
        self.radar_encoder_stage1 = RadarStage1Encoder(radar_channels, pretrained)
        self.radar_decoder = RadarConfidenceDecoder(max_depth=self.max_depth)
        self.radar_encoder_stage2 = RadarStage2Encoder(radar_channels, pretrained)
        self.decoder = GatedBTSDecoder(num_features=num_features, max_depth=self.max_depth)
        xavier_init_conv2d(self.radar_decoder)
        xavier_init_conv2d(self.decoder)

    def published_frozen_parameters(self) -> list[nn.Parameter]:
        """The parameters the published teacher training never updates: the image
        encoder's first conv, the block batch-norm affines of the three ResNets and the
        constant mask kernels of the sparse convs (40,348 values at the default widths)."""
        # A Parameter, which torch's stubs type as the plain Tensor it is a subclass of.
        frozen = [cast(nn.Parameter, self.image_encoder.first_conv.weight)]
        for pyramid in (
            self.image_encoder,
            self.radar_encoder_stage1.resnet,
            self.radar_encoder_stage2.resnet,
        ):
            frozen += pyramid.block_batch_norm_affines()
        layers = self.radar_encoder_stage1.sparse.layers
        return frozen + [cast(SparseConv, layer).mask_kernel for layer in layers]

    def forward(self, image: torch.Tensor, radar: torch.Tensor) -> TeacherOutput:
        check_network_inputs(image, radar, self.radar_channels)
        image_features = self.image_encoder(image)
        confidence, coarse_depth = self.radar_decoder(
            image_features, self.radar_encoder_stage1(radar)
        )
        trusted_depth = torch.where(
            confidence > self.confidence_threshold, coarse_depth, torch.zeros_like(coarse_depth)
        )
        radar_features = self.radar_encoder_stage2(torch.cat([trusted_depth, radar], dim=1))
        decoder_features, gated_radar, inter_depths, depth = self.decoder(
            image_features, radar_features, confidence
        )
        return TeacherOutput(
            decoder_features=decoder_features,
            image_features=image_features,
            radar_features=gated_radar,
            inter_depths=inter_depths,
            depth=depth,
            confidence=confidence,
            coarse_depth=coarse_depth,
        )


def check_network_inputs(image: torch.Tensor, radar: torch.Tensor, radar_channels: int) -> None:
    """Raise ValueError naming the offending input unless image is B x 3 x H x W and radar
    B x radar_channels x H x W with H and W divisible by 32."""
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be B x 3 x H x W, got {tuple(image.shape)}")
    if radar.dim() != 4 or radar.shape[1] != radar_channels:
        raise ValueError(f"radar must be B x {radar_channels} x H x W, got {tuple(radar.shape)}")
    if radar.shape[0] != image.shape[0] or radar.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"radar {tuple(radar.shape)} does not match image {tuple(image.shape)}")
    height, width = image.shape[-2:]
    if height % INPUT_STRIDE or width % INPUT_STRIDE:
        raise ValueError(
            f"image height and width must be divisible by {INPUT_STRIDE}, got {height} x {width}"
        )
