"""The inference view of a network: (image, radar) -> depth [, confidence] tensors.

Backends and ONNX export need a module that returns plain tensors (the training
networks return typed outputs with many training-only fields), so every deployed
network is wrapped here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

STUDENT_ARCH = "lircdepth"
DEFAULT_MAX_DEPTH = 100.0


class InferenceNet(nn.Module):
    """Wraps a student or teacher: returns depth (B x 1 x H x W metres) and, for networks
    that estimate it, the radar confidence at the same size.
    """

    def __init__(self, network: nn.Module, has_confidence: bool) -> None:
        super().__init__()
        self.network = network
        self.has_confidence = has_confidence

    def forward(self, image: torch.Tensor, radar: torch.Tensor) -> tuple[torch.Tensor, ...]:
        output = self.network(image, radar)
        depth = output if isinstance(output, torch.Tensor) else output.depth
        if not self.has_confidence:
            return (depth,)
        confidence = output.confidence
        if confidence.shape[-2:] != depth.shape[-2:]:
            confidence = F.interpolate(
                confidence, size=depth.shape[-2:], mode="bilinear", align_corners=False
            )
        return depth, confidence


@dataclass(frozen=True)
class LoadedNetwork:
    """A network ready for inference and what the estimator needs to know about it."""

    net: InferenceNet
    arch: str
    max_depth: float


def load_network(checkpoint: str | Path, fast: bool = True) -> LoadedNetwork:
    """Rebuild a checkpoint's network on the CPU, in eval mode, wrapped for inference.

    With `fast`, the student is converted to its inference form (transposed depthwise
    convolutions as ordinary ones, batch norm folded), which computes the same depth.
    """
    from lircdepth.models.checkpoint import load_model

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    model, state = load_model(checkpoint, torch.device("cpu"))
    model.eval()
    arch = str(state.get("arch", STUDENT_ARCH))
    max_depth = float(getattr(model, "max_depth", DEFAULT_MAX_DEPTH))
    has_confidence = arch != STUDENT_ARCH
    if fast and arch == STUDENT_ARCH:
        from lircdepth.models.fast_student import optimize_for_inference
        from lircdepth.models.student import LiRCDepth

        model = optimize_for_inference(cast("LiRCDepth", model)).eval()
    return LoadedNetwork(InferenceNet(model, has_confidence), arch, max_depth)
