"""The published decoder initialisation, shared by both networks.

The authors start every decoder (the student's, the teacher's depth and radar decoders)
from xavier-uniform Conv2d weights and zero biases; encoders keep torch's default or
their ImageNet weights. Transposed convolutions are not Conv2d and keep torch's default.
"""

from __future__ import annotations

from torch import nn


def xavier_init_conv2d(module: nn.Module) -> None:
    """Xavier-uniform weights (gain 1) and zero biases for every nn.Conv2d below `module`."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
