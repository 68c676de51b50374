"""Checks shared by the network tests."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch


def _assert_xavier_uniform(module: torch.nn.Module) -> int:
    """Every Conv2d below `module` looks drawn from xavier-uniform (gain 1) with zero
    bias: inside the bound sqrt(6 / (fan_in + fan_out)), with that distribution's spread
    (torch's default draws from a bound of 1 / sqrt(fan_in) instead). Returns how many."""
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        weight = conv.weight.detach()
        receptive = weight[0, 0].numel()
        fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert weight.abs().max() <= bound, conv
        if weight.numel() >= 200:
            assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.15), conv
        assert conv.bias is None or not conv.bias.any()
    return len(convs)


@pytest.fixture
def assert_xavier_uniform() -> Callable[[torch.nn.Module], int]:
    return _assert_xavier_uniform
