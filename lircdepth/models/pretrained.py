"""Optional ImageNet initialisation of the MobileNetV2 backbones via torchvision's weights API."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2


def mobilenet_v2_backbone(pretrained: bool = False) -> torch.nn.Sequential:
    """MobileNetV2's feature extractor (19 blocks), without the unused classifier head.

    With `pretrained` the ImageNet weights come from torchvision (downloaded once into
    the torch hub cache); offline without a cached copy this raises a RuntimeError that
    says where the file is expected, instead of a bare network error.
    """
    if not pretrained:
        return mobilenet_v2(weights=None).features
    weights = MobileNet_V2_Weights.IMAGENET1K_V1
    try:
        return mobilenet_v2(weights=weights).features
    except (OSError, RuntimeError) as error:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise RuntimeError(
            f"ImageNet weights for MobileNetV2 are not available: {cached} is missing and "
            f"{weights.url} could not be downloaded ({error}). Copy the file there or use pretrained=False."
        ) from error
