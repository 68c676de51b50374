"""The student's fast inference form: same weights, same depth, several times quicker on CPU.

What costs time in the straightforward model (profiled at 896 x 1600, 2 threads): the
depthwise transposed convolutions in NCHW (PyTorch's slow path), unfused batch norm and
activations, and, above all, memory traffic: the decoder's widest tensors are hundreds of
MiB, so every extra pass over them (batch norm, ReLU6, copies) and every fresh page the
kernel has to zero for a new tensor costs as much as the convolutions. Here, on a copy:
- batch norm is folded into the (transposed) convolution before it;
- a stride-1 transposed convolution becomes an ordinary one (kernel flipped, in/out swapped);
  stride-2 ones stay transposed: oneDNN's channels_last deconvolution beats both the
  sub-pixel (4 phases + pixel_shuffle) and the zero-insertion rewrites, measured;
- everything runs in channels_last and only the depth is returned (every head feeds it);
- freed activations are reused instead of freshly page-faulted (cpu_memory).
The result is a plain nn.Module (exportable to ONNX).
"""

from __future__ import annotations

import copy
from typing import cast

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .cpu_memory import retain_freed_memory
from .student import LiRCDepth


def _transposed_weight_as_conv(weight: torch.Tensor, groups: int) -> torch.Tensor:
    """ConvTranspose2d weight (Cin, Cout/g, k, k) -> Conv2d layout (Cout, Cin/g, k, k), unflipped."""
    cin, cout_per_group = weight.shape[:2]
    grouped = weight.reshape(groups, cin // groups, cout_per_group, *weight.shape[2:])
    return grouped.transpose(1, 2).reshape(
        groups * cout_per_group, cin // groups, *weight.shape[2:]
    )


def transposed_to_conv(conv_t: nn.ConvTranspose2d) -> nn.Conv2d:
    """The ordinary convolution computing exactly what a stride-1 `conv_t` computes."""
    if conv_t.stride != (1, 1) or conv_t.output_padding != (0, 0) or conv_t.dilation != (1, 1):
        raise NotImplementedError(f"only stride-1 transposed convs have a conv form: {conv_t}")
    weight = _transposed_weight_as_conv(conv_t.weight.detach(), conv_t.groups).flip(-1, -2)
    # A ConvTranspose2d's padding is a pair of ints (never a padding mode string).
    pads = cast("tuple[int, int]", conv_t.padding)
    padding = cast(
        "tuple[int, int]",
        tuple(k - 1 - p for k, p in zip(conv_t.kernel_size, pads, strict=True)),
    )
    conv = nn.Conv2d(
        conv_t.in_channels,
        conv_t.out_channels,
        cast("tuple[int, int]", conv_t.kernel_size),
        padding=padding,
        groups=conv_t.groups,
        bias=conv_t.bias is not None,
    ).to(weight.device)
    with torch.no_grad():
        conv.weight.copy_(weight)
        if conv_t.bias is not None and conv.bias is not None:  # conv has one iff conv_t has
            conv.bias.copy_(conv_t.bias)
    return conv


def fold_into_transposed(conv_t: nn.ConvTranspose2d, norm: nn.BatchNorm2d) -> nn.ConvTranspose2d:
    """`norm(conv_t(x))` as one transposed conv (torch's fuse_conv_bn_eval mis-scales grouped ones)."""
    running_mean, running_var = norm.running_mean, norm.running_var
    assert running_mean is not None and running_var is not None, "eval batch norm keeps stats"
    scale = norm.weight / torch.sqrt(running_var + norm.eps)
    shift = norm.bias - running_mean * scale
    fused = copy.deepcopy(conv_t)
    cin, cout_per_group = conv_t.weight.shape[:2]
    grouped_scale = scale.reshape(conv_t.groups, 1, cout_per_group, 1, 1)
    weight = conv_t.weight.reshape(conv_t.groups, cin // conv_t.groups, *conv_t.weight.shape[1:])
    fused.weight = nn.Parameter((weight * grouped_scale).reshape_as(conv_t.weight))
    bias = shift if conv_t.bias is None else conv_t.bias * scale + shift
    fused.bias = nn.Parameter(bias.detach().clone())
    return fused


def _fold(conv: nn.Conv2d | nn.ConvTranspose2d, norm: nn.BatchNorm2d) -> nn.Module:
    if isinstance(conv, nn.ConvTranspose2d):
        return fold_into_transposed(conv, norm)
    return fuse_conv_bn_eval(conv, norm)


def fold_batchnorm(module: nn.Module) -> None:
    """In every nn.Sequential, merge (conv or transposed conv, BatchNorm2d) pairs in place."""
    for child in module.modules():
        if not isinstance(child, nn.Sequential):
            continue
        for index in range(len(child) - 1):
            conv, norm = child[index], child[index + 1]
            if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(
                norm, nn.BatchNorm2d
            ):
                child[index] = _fold(conv, norm)
                child[index + 1] = nn.Identity()


def replace_stride1_transposed_convs(module: nn.Module) -> None:
    """Swap every stride-1 ConvTranspose2d below `module` for its ordinary-conv equivalent."""
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.ConvTranspose2d) and child.stride == (1, 1):
                setattr(parent, name, transposed_to_conv(child))


class FastStudent(nn.Module):
    """Depth-only student with folded layers in channels_last memory."""

    def __init__(self, student: LiRCDepth):
        super().__init__()
        self.image_encoder = student.image_encoder
        self.radar_encoder = student.radar_encoder
        self.decoder = student.decoder
        self.max_depth = student.max_depth

    def forward(self, image: torch.Tensor, radar: torch.Tensor) -> torch.Tensor:
        image = image.contiguous(memory_format=torch.channels_last)
        radar = radar.contiguous(memory_format=torch.channels_last)
        _, _, depth = self.decoder(self.image_encoder(image), self.radar_encoder(radar))
        return depth.contiguous()


def optimize_for_inference(model: LiRCDepth, retain_memory: bool = True) -> FastStudent:
    """A copy of `model` (eval mode, no grad) that computes `model.predict` faster; `model` is untouched.

    `retain_memory` also makes this process's malloc reuse freed activations instead of
    page-faulting fresh ones every forward (see cpu_memory; a process-wide setting).
    """
    if retain_memory:
        retain_freed_memory()
    student = copy.deepcopy(model).eval()
    with torch.no_grad():
        fold_batchnorm(student)
        replace_stride1_transposed_convs(student)
    fast = FastStudent(student).to(memory_format=torch.channels_last)
    for parameter in fast.parameters():
        parameter.requires_grad_(False)
    return fast.eval()
