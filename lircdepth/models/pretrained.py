"""Optional ImageNet initialisation of the backbones via torchvision's weights API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torchvision.models import MobileNet_V2_Weights, WeightsEnum, mobilenet_v2

ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


def build_with_imagenet_weights(
    builder: Callable[..., ModuleT], weights: WeightsEnum, pretrained: bool
) -> ModuleT:
    """`builder(weights=...)`, with a clear error when the weights can't be had.

    The weights are downloaded once into the torch hub cache; offline without a cached
    copy this raises a RuntimeError that says where the file is expected, instead of a
    bare network error.
    """
    if not pretrained:
        return builder(weights=None)
    try:
        return builder(weights=weights)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise RuntimeError(
            f"ImageNet weights {weights} are not available: {cached} is missing and "
            f"{weights.url} could not be downloaded ({error}). Copy the file there or use "
            "pretrained=False."
        ) from error


def mobilenet_v2_backbone(pretrained: bool = False) -> torch.nn.Sequential:
    """MobileNetV2's feature extractor (19 blocks), without the unused classifier head."""
    return build_with_imagenet_weights(
        mobilenet_v2, MobileNet_V2_Weights.IMAGENET1K_V1, pretrained
    ).features
