"""Sparsity-invariant convolution for the teacher's stage-1 radar encoder.

Radar maps are mostly empty. A plain convolution would average real returns with the
zeros around them; a sparsity-invariant convolution (Uhrig et al., 2017) normalises by
the number of valid pixels under the kernel instead, and dilates the validity mask so
the next layer knows where features now exist.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Keeps the division defined where no valid pixel lies under the kernel.
_MASK_COUNT_EPS = 1e-8


class SparseConv(nn.Module):
    """conv(x * mask) / (count of valid pixels under the kernel + eps) + bias, then ELU.

    Returns the activated features and the validity mask max-pooled with the same kernel.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.padding = kernel_size // 2
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=self.padding, bias=False
        )
        self.bias = nn.Parameter(torch.zeros(out_channels))
        # A frozen all-ones kernel counts the valid pixels. It is a (non-trainable)
        # parameter rather than a buffer so the parameter count equals the reference
        # definition's (method.md section 6).
        self.mask_kernel = nn.Parameter(
            torch.ones(1, 1, kernel_size, kernel_size), requires_grad=False
        )
        self.kernel_size = kernel_size

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        count = F.conv2d(mask, self.mask_kernel.to(mask.dtype), padding=self.padding)
        out = self.conv(x * mask) / (count + _MASK_COUNT_EPS) + self.bias.view(1, -1, 1, 1)
        new_mask = F.max_pool2d(mask, self.kernel_size, stride=1, padding=self.padding)
        return F.elu(out), new_mask


class SparseConvStack(nn.Module):
    """The four sparse convolutions of CaFNet stage 1: kernels 7, 5, 3, 3; 4->16->16->16->3.

    Validity is taken from the radar depth channel (channel 0 > 0).
    """

    def __init__(self, in_channels: int = 4, widths: tuple[int, ...] = (16, 16, 16, 3)) -> None:
        super().__init__()
        kernels = (7, 5, 3, 3)
        channels = (in_channels, *widths)
        self.layers = nn.ModuleList(
            SparseConv(channels[i], channels[i + 1], kernels[i]) for i in range(len(kernels))
        )

    def forward(self, radar: torch.Tensor) -> torch.Tensor:
        mask = (radar[:, :1] > 0).to(radar.dtype)
        x = radar
        for layer in self.layers:
            x, mask = layer(x, mask)
        return x
