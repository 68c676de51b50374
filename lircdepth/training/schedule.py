"""Polynomial learning-rate decay (method.md section 5).

lr(step) = (lr0 - lr_end) * (1 - step / total) ** 0.9 + lr_end, held at lr_end after
`total`. It is a `LambdaLR` so its position is part of the scheduler state_dict and an
interrupted run resumes on the same curve.
"""

from __future__ import annotations

import torch

POLY_POWER = 0.9


def polynomial_lr(
    step: int, total_steps: int, lr0: float, lr_end: float, power: float = POLY_POWER
) -> float:
    """The learning rate after `step` optimiser steps out of `total_steps`."""
    progress = min(step, total_steps) / max(total_steps, 1)
    return (lr0 - lr_end) * (1.0 - progress) ** power + lr_end


class PolynomialDecayFactor:
    """Multiplier of the base lr for `LambdaLR` (a class, not a lambda, so it pickles)."""

    def __init__(
        self, total_steps: int, lr0: float, lr_end: float, power: float = POLY_POWER
    ) -> None:
        if lr0 <= 0:
            raise ValueError(f"learning rate must be positive, got {lr0}")
        self.total_steps, self.lr0, self.lr_end, self.power = total_steps, lr0, lr_end, power

    def __call__(self, step: int) -> float:
        return polynomial_lr(step, self.total_steps, self.lr0, self.lr_end, self.power) / self.lr0


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, lr0: float, lr_end: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """Scale every parameter group's lr by the polynomial decay (groups share lr0)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, PolynomialDecayFactor(total_steps, lr0, lr_end)
    )
