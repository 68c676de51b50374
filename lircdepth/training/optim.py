"""AdamW with the authors' parameter groups: one per network part, weight decay on all
but the depth decoder.

Groups follow the top-level modules and carry the published names (student: encoder,
encoder_radar, decoder; teacher: encoder, encoder_radar1, encoder_radar2, decoder_radar,
decoder). Every group except "decoder" gets `weight_decay`, so the teacher's radar
confidence decoder is decayed and the student's fusion convolutions (part of its
decoder) are not, as published. Frozen parameters are left out.
"""

from __future__ import annotations

from typing import Any

import torch

# Top-level module of either network -> the authors' name for its optimiser group.
PUBLISHED_GROUP_NAMES = {
    "image_encoder": "encoder",
    "radar_encoder": "encoder_radar",
    "radar_encoder_stage1": "encoder_radar1",
    "radar_encoder_stage2": "encoder_radar2",
    "radar_decoder": "decoder_radar",
    "decoder": "decoder",
}
UNDECAYED_GROUP = "decoder"
FUSED_DEVICES = ("cpu", "cuda")
_GROUP_ORDER = {name: rank for rank, name in enumerate(PUBLISHED_GROUP_NAMES.values())}


def parameter_groups(
    model: torch.nn.Module, trainable_only: bool = True
) -> dict[str, list[torch.nn.Parameter]]:
    """Group name -> parameters, groups in the published order, parameters in module
    order (a top-level module the table does not know keeps its own name, last)."""
    groups: dict[str, list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad or not trainable_only:
            part = name.split(".", 1)[0]
            groups.setdefault(PUBLISHED_GROUP_NAMES.get(part, part), []).append(parameter)
    return dict(
        sorted(groups.items(), key=lambda item: _GROUP_ORDER.get(item[0], len(_GROUP_ORDER)))
    )


def freeze(parameters: list[torch.nn.Parameter]) -> int:
    """Stop training `parameters`; returns how many values that fixes."""
    for parameter in parameters:
        parameter.requires_grad_(False)
    return sum(parameter.numel() for parameter in parameters)


def build_optimizer(
    model: torch.nn.Module, learning_rate: float, weight_decay: float, adam_eps: float
) -> torch.optim.AdamW:
    """AdamW over the published groups, same learning rate, decay on all but "decoder"."""
    groups: list[dict[str, Any]] = [
        {
            "params": parameters,
            "weight_decay": 0.0 if name == UNDECAYED_GROUP else weight_decay,
            "name": name,
        }
        for name, parameters in parameter_groups(model).items()
    ]
    if not groups:
        raise ValueError("the model has no trainable parameters")
    # The fused kernel updates every tensor in one pass: same AdamW, several times faster
    # steps on CPU, where torch picks a per-tensor loop by default (docs/experiments.md,
    # "Fused AdamW").
    fused = all(p.device.type in FUSED_DEVICES for group in groups for p in group["params"])
    return torch.optim.AdamW(groups, lr=learning_rate, eps=adam_eps, fused=fused)
