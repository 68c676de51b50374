"""AdamW with the method's two parameter groups: weight decay on encoders, none on decoders.

Parameters whose qualified name contains "decoder" (the depth decoder, and the teacher's
radar-confidence decoder) get weight decay 0; everything else (encoders, feature
adapters, fusion convolutions) gets `weight_decay`, as the reference trains it.
"""

from __future__ import annotations

import torch

DECODER_MARK = "decoder"


def split_parameters(
    model: torch.nn.Module,
) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
    """(decayed, not decayed) trainable parameters of `model`."""
    decayed, not_decayed = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (not_decayed if DECODER_MARK in name else decayed).append(parameter)
    return decayed, not_decayed


def build_optimizer(
    model: torch.nn.Module, learning_rate: float, weight_decay: float, adam_eps: float
) -> torch.optim.AdamW:
    """AdamW over two groups ("encoder": decayed, "decoder": not), same learning rate."""
    decayed, not_decayed = split_parameters(model)
    if not decayed and not not_decayed:
        raise ValueError("the model has no trainable parameters")
    groups = [
        {"params": decayed, "weight_decay": weight_decay, "name": "encoder"},
        {"params": not_decayed, "weight_decay": 0.0, "name": "decoder"},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=learning_rate, eps=adam_eps)
