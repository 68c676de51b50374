"""ResNet feature pyramids for the teacher: five taps, no classifier head.

The teacher reads torchvision's ResNets at relu (1/2), layer1 (1/4), layer2 (1/8),
layer3 (1/16) and layer4 (1/32). The ImageNet classifier (avgpool + fc) is never used,
so it is not kept: it would only add 513,000 dead parameters per encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torchvision
from torch import nn

from lircdepth.models.pretrained import build_with_imagenet_weights

RESNET_TAP_CHANNELS = (64, 64, 128, 256, 512)

_BUILDERS: dict[str, tuple[Callable[..., torchvision.models.ResNet], object]] = {
    "resnet18": (torchvision.models.resnet18, torchvision.models.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (torchvision.models.resnet34, torchvision.models.ResNet34_Weights.IMAGENET1K_V1),
}


def build_torchvision_resnet(name: str, pretrained: bool) -> torchvision.models.ResNet:
    """A torchvision ResNet, ImageNet-initialised on request.

    Raises RuntimeError naming the weights and the cache folder when the weights are
    neither cached nor downloadable (offline machine).
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown ResNet {name!r}; expected one of {sorted(_BUILDERS)}")
    builder, weights = _BUILDERS[name]
    return build_with_imagenet_weights(builder, weights, pretrained)


class ResNetPyramid(nn.Module):
    """A torchvision ResNet cut into five stages; forward returns the five taps, finest first."""

    def __init__(self, name: str = "resnet18", pretrained: bool = False) -> None:
        super().__init__()
        resnet = build_torchvision_resnet(name, pretrained)
        self.stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu)
        self.maxpool = resnet.maxpool
        self.layer1, self.layer2 = resnet.layer1, resnet.layer2
        self.layer3, self.layer4 = resnet.layer3, resnet.layer4
        self.out_channels = RESNET_TAP_CHANNELS

    @property
    def first_conv(self) -> nn.Conv2d:
        return cast(nn.Conv2d, self.stem[0])

    def block_batch_norm_affines(self) -> list[nn.Parameter]:
        """Weights and biases of the stem and residual-branch batch norms, not of the
        downsample shortcuts: the batch norms the published teacher training keeps fixed
        (its name filter, ".bn", does not match the shortcuts' norms)."""
        return [
            parameter
            for name, module in self.named_modules()
            if isinstance(module, nn.BatchNorm2d) and "downsample" not in name
            for parameter in module.parameters()
        ]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f1 = self.stem(x)
        f2 = self.layer1(self.maxpool(f1))
        f3 = self.layer2(f2)
        f4 = self.layer3(f3)
        f5 = self.layer4(f4)
        return [f1, f2, f3, f4, f5]
