"""Building blocks of the student's decoder.

The decoder mirrors MobileNetV2: each block widens the features (1x1), filters them
per channel (3x3 depthwise) and narrows them again (1x1). It upsamples with a
transposed depthwise convolution instead of a strided one, hence "transposed
inverted residual".
"""

from __future__ import annotations

import torch
from torch import nn

EXPAND_RATIO = 6


class TransposedInvertedResidual(nn.Module):
    """1x1 expand + BN + ReLU6, 3x3 depthwise ConvTranspose + BN + ReLU6, 1x1 ConvTranspose + BN.

    With stride 2 the depthwise layer doubles the resolution (output_padding 1). Unlike
    MobileNetV2 there is no residual connection (the published decoder has none).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, expand_ratio: int = EXPAND_RATIO
    ):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = in_channels * expand_ratio
        self.stride = stride
        self.expand = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
        )
        self.depthwise = nn.Sequential(
            nn.ConvTranspose2d(
                hidden,
                hidden,
                3,
                stride=stride,
                padding=1,
                output_padding=stride - 1,
                groups=hidden,
                bias=False,
            ),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
        )
        self.project = nn.Sequential(
            nn.ConvTranspose2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.depthwise(self.expand(x)))


def transposed_stage(widths: list[int], upsample_last: bool = True) -> nn.Sequential:
    """Blocks widths[0] -> widths[1] -> ... ; the last block doubles the resolution."""
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    return nn.Sequential(
        *(
            TransposedInvertedResidual(
                cin, cout, stride=2 if upsample_last and i == len(pairs) - 1 else 1
            )
            for i, (cin, cout) in enumerate(pairs)
        )
    )


def conv_relu(
    in_channels: int, out_channels: int, kernel_size: int = 1, bias: bool = False
) -> nn.Sequential:
    """Conv (same padding) + ReLU: the projections, fusion maps and depth heads."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias),
        nn.ReLU(inplace=True),
    )
