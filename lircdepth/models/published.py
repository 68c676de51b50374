"""The authors' published checkpoints (LiRCDepth student, CaFNet teacher) in the project's terms.

A published file is a plain dict: `model` (the state_dict of a DataParallel-wrapped
network, every key starting with `module.`), `optimizer`, `global_step` and, for the
best-metric files, `best_eval_*` (the MAE is `best_eval_measures_lower_better[6]`). Only
`model` is used. Its keys follow the authors' module names; the rules below rename each
one to the project's network, and a key that no rule covers, or a network weight that no
key fills, is an error naming it. The teacher's three unused ImageNet classifiers
(`fc.weight`, `fc.bias`) are the only tensors dropped.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch

from .checkpoint_errors import WRAPPER_PREFIX, CheckpointError
from .encoders import TAP_ENDS

# Both published argument files set max_depth 100; the state_dict does not record it.
PUBLISHED_MAX_DEPTH = 100.0
# Index of the MAE in `best_eval_measures_lower_better` (silog, abs_rel, log10, rms,
# sq_rel, log_rms, mae).
BEST_MAE_INDEX = 6
PUBLISHED_FILE_KEYS = ("global_step", "optimizer")

# A key (after `module.`) that identifies each layout.
SIGNATURES = {
    "lircdepth": "encoder_radar.conv.0.weight",
    "cafnet": "encoder_radar1.sparse_conv1.conv.weight",
}
DROPPED_KEYS = re.compile(r"^(encoder\.base_model|encoder_radar[12]\.base_model_radar)\.fc\.")

Rename = str | Callable[[re.Match], str]


def _mobilenet(prefix: str) -> Callable[[re.Match], str]:
    """`base_model.j.` -> `backbone.stages.s.j.`: the project splits MobileNetV2's features
    into five stages at TAP_ENDS and keeps the original block index j inside its stage."""

    def rename(match: re.Match) -> str:
        block = int(match[1])
        stage = next(s for s, end in enumerate(TAP_ENDS) if block < end)
        return f"{prefix}.backbone.stages.{stage}.{block}."

    return rename


def _resnet(source: str, target: str) -> list[tuple[str, Rename]]:
    """torchvision ResNet names (conv1, bn1, layer1-4) -> the project's ResNetPyramid."""
    return [
        (rf"{source}\.conv1\.", f"{target}.stem.0."),
        (rf"{source}\.bn1\.", f"{target}.stem.1."),
        (rf"{source}\.(layer[1-4])\.", target + r".\1."),
    ]


def _bts_reduction(level: str, first_width: int) -> Callable[[re.Match], str]:
    """`reducNxN.reduc.inter_A_B.0.` / `plane_params.` / `final.0.` -> the n-th conv of the
    project's reduction Sequential (index 2n: each conv is followed by an ELU). The chain
    halves the width from `first_width` to 8, so inter_A_B is conv log2(first_width / B)
    and the last conv comes after the one to 8."""

    def rename(match: re.Match) -> str:
        width = int(match[1]) if match[1] else 4
        return f"{level}.{2 * int(math.log2(first_width // width))}."

    return rename


def _daspp_branch(match: re.Match) -> str:
    """daspp_{3,6,12,18,24} are branches 0..4. Branch 0 has no leading batch norm, so the
    authors' aconv_sequence index k is the project's k in branch 0 and k + 1 after it."""
    branch = (3, 6, 12, 18, 24).index(int(match[1]))
    if match[2] == "first_bn":
        return f"decoder.daspp.branches.{branch}.0."
    index = int(match[2].split(".")[1]) + (branch > 0)
    return f"decoder.daspp.branches.{branch}.{index}."


STUDENT_RULES: list[tuple[str, Rename]] = [
    (r"encoder\.base_model\.(\d+)\.", _mobilenet("image_encoder")),
    (r"encoder\.conv_image\.(\d)\.conv\.0\.", r"image_encoder.projections.\1.0."),
    (r"encoder_radar\.conv\.0\.", "radar_encoder.stem.0."),
    (r"encoder_radar\.base_model\.(\d+)\.", _mobilenet("radar_encoder")),
    (r"encoder_radar\.conv_radar\.(\d)\.conv\.0\.", r"radar_encoder.projections.\1.0."),
    (r"decoder\.conv_radar\.(\d)\.conv\.0\.", r"decoder.fusion.\1.0."),
    (r"decoder\.upconv([2-5])\.(\d+)\.expansion_layer\.", r"decoder.stage\1.\2.expand."),
    (
        r"decoder\.upconv([2-5])\.(\d+)\.depthwise_layer_transpose\.",
        r"decoder.stage\1.\2.depthwise.",
    ),
    (r"decoder\.upconv([2-5])\.(\d+)\.pointwise_layer_transpose\.", r"decoder.stage\1.\2.project."),
    (r"decoder\.upconv1\.0\.", "decoder.up1."),
    (r"decoder\.scale([1248])\.0\.", r"decoder.head\1.0."),
    (r"decoder\.conv1\.0\.", "decoder.refine.0."),
    (r"decoder\.get_depth\.0\.", "decoder.depth_head."),
]

TEACHER_RULES: list[tuple[str, Rename]] = [
    *_resnet(r"encoder\.base_model", "image_encoder"),
    (r"encoder_radar1\.sparse_conv([1-4])\.bias$", lambda m: f"{_sparse(m)}.bias"),
    (r"encoder_radar1\.sparse_conv([1-4])\.conv\.", lambda m: f"{_sparse(m)}.conv."),
    (
        r"encoder_radar1\.sparse_conv([1-4])\.sparsity\.weight$",
        lambda m: f"{_sparse(m)}.mask_kernel",
    ),
    *_resnet(r"encoder_radar1\.base_model_radar", "radar_encoder_stage1.resnet"),
    # The radar U-Net runs upconv5 (1/32 -> 1/16) first: level 5 - N.
    (r"decoder_radar\.upconv([1-5])\.conv\.", lambda m: f"{_radar_level(m)}.0.conv.0."),
    (r"decoder_radar\.bn([1-5])\.", lambda m: f"{_radar_level(m)}.1."),
    (r"decoder_radar\.conv([1-5])\.0\.", lambda m: f"{_radar_level(m)}.2.0."),
    (r"decoder_radar\.get_depth\.0\.", "radar_decoder.head."),
    (r"encoder_radar2\.conv\.0\.", "radar_encoder_stage2.stem.0."),
    *_resnet(r"encoder_radar2\.base_model_radar", "radar_encoder_stage2.resnet"),
    # Gated fusion: weightN / projectN act at 1/2^N, the project's gates are finest first.
    (r"decoder\.weight([1-5])\.0\.", lambda m: f"decoder.gates.{int(m[1]) - 1}.gate."),
    (r"decoder\.project([1-5])\.0\.", lambda m: f"decoder.gates.{int(m[1]) - 1}.project."),
    (r"decoder\.upconv([1-5])\.conv\.", r"decoder.upconv\1.conv.0."),
    (r"decoder\.(bn[2-5]|bn4_2|conv[1-5]\.0)\.", r"decoder.\1."),
    (r"decoder\.daspp_(3|6|12|18|24)\.atrous_conv\.(first_bn|aconv_sequence\.\d)\.", _daspp_branch),
    (r"decoder\.daspp_conv\.0\.", "decoder.daspp.fuse.0."),
    (
        r"decoder\.reduc8x8\.reduc\.(?:inter_\d+_(\d+)\.0|plane_params)\.",
        _bts_reduction("decoder.depth8.reduce", 128),
    ),
    (
        r"decoder\.reduc4x4\.reduc\.(?:inter_\d+_(\d+)\.0|plane_params)\.",
        _bts_reduction("decoder.depth4.reduce", 64),
    ),
    (
        r"decoder\.reduc2x2\.reduc\.(?:inter_\d+_(\d+)\.0|plane_params)\.",
        _bts_reduction("decoder.depth2.reduce", 32),
    ),
    (
        r"decoder\.reduc1x1\.reduc\.(?:inter_\d+_(\d+)\.0|final\.0)\.",
        _bts_reduction("decoder.reduc1x1.0", 16),
    ),
    (r"decoder\.get_depth\.0\.", "decoder.get_depth."),
]


def _sparse(match: re.Match) -> str:
    return f"radar_encoder_stage1.sparse.layers.{int(match[1]) - 1}"


def _radar_level(match: re.Match) -> str:
    return f"radar_decoder.levels.{5 - int(match[1])}"


RULES = {
    arch: [(re.compile(f"^{pattern}"), rename) for pattern, rename in rules]
    for arch, rules in (("lircdepth", STUDENT_RULES), ("cafnet", TEACHER_RULES))
}


def _apply(rename: Rename, match: re.Match, key: str) -> str:
    head = rename(match) if callable(rename) else match.expand(rename)
    return head + key[match.end() :]


def project_key(arch: str, published_key: str) -> str | None:
    """The project's name for one published key (with or without `module.`); None when
    the key is one of the dropped classifier tensors; CheckpointError when no rule covers it."""
    key = published_key.removeprefix(WRAPPER_PREFIX)
    if arch == "cafnet" and DROPPED_KEYS.match(key):
        return None
    for pattern, rename in RULES[arch]:
        match = pattern.match(key)
        if match:
            return _apply(rename, match, key)
    raise CheckpointError(f"published {arch} key {published_key!r} has no mapping")


def map_state_dict(arch: str, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename every published key to the project's; unmapped or colliding keys raise
    CheckpointError naming them all. Shapes and completeness are checked at load time."""
    mapped: dict[str, torch.Tensor] = {}
    unmapped, collisions = [], []
    for key, tensor in state_dict.items():
        try:
            target = project_key(arch, key)
        except CheckpointError:
            unmapped.append(key)
            continue
        if target is None:
            continue
        if target in mapped:
            collisions.append(f"{key} -> {target}")
        mapped[target] = tensor
    if unmapped or collisions:
        raise CheckpointError(
            f"published {arch} weights do not map onto the project's network: "
            f"{len(unmapped)} key(s) with no mapping {unmapped[:10]}, "
            f"{len(collisions)} key(s) mapped twice {collisions[:10]}"
        )
    return mapped


def _published_layout(state_dict: object) -> str | None:
    if not isinstance(state_dict, dict) or not state_dict:
        return None
    if not all(isinstance(k, str) and k.startswith(WRAPPER_PREFIX) for k in state_dict):
        return None
    found = [arch for arch, key in SIGNATURES.items() if WRAPPER_PREFIX + key in state_dict]
    return found[0] if len(found) == 1 else None


def is_published_checkpoint(checkpoint: dict) -> bool:
    """The authors' format: no `arch`, the training bookkeeping keys, and a `module.` state_dict
    of one of the two published layouts."""
    return (
        "arch" not in checkpoint
        and all(key in checkpoint for key in PUBLISHED_FILE_KEYS)
        and _published_layout(checkpoint.get("model")) is not None
    )


def detect_arch(state_dict: object) -> str:
    """ "lircdepth" or "cafnet" from the published state_dict; CheckpointError otherwise."""
    arch = _published_layout(state_dict)
    if arch is None:
        raise CheckpointError(
            "not a published LiRCDepth or CaFNet state_dict (keys must start with 'module.' "
            f"and contain one of {sorted(WRAPPER_PREFIX + k for k in SIGNATURES.values())})"
        )
    return arch


def published_model_config(arch: str, state_dict: dict[str, torch.Tensor]) -> dict:
    """The project's model_config for a published layout: max_depth as published, the radar
    channel count (and the student's distillation projections) read from the weights."""
    p = WRAPPER_PREFIX
    if arch == "lircdepth":
        return {
            "max_depth": PUBLISHED_MAX_DEPTH,
            "radar_channels": int(state_dict[f"{p}encoder_radar.conv.0.weight"].shape[1]),
            "feature_distill": f"{p}encoder.conv_image.0.conv.0.weight" in state_dict,
        }
    return {
        "max_depth": PUBLISHED_MAX_DEPTH,
        "radar_channels": int(state_dict[f"{p}encoder_radar1.sparse_conv1.conv.weight"].shape[1]),
        "num_features": int(state_dict[f"{p}decoder.upconv5.conv.weight"].shape[0]),
    }


def _best_mae(checkpoint: dict) -> float | None:
    lower = checkpoint.get("best_eval_measures_lower_better")
    if isinstance(lower, torch.Tensor) and lower.numel() > BEST_MAE_INDEX:
        return float(lower.flatten()[BEST_MAE_INDEX])
    return None


def convert_published(
    checkpoint: dict,
    arch: str = "auto",
    source: str | os.PathLike | None = None,
    sha256: str | None = None,
) -> dict:
    """A published checkpoint dict -> a project checkpoint (arch, model_config, model,
    global_step, provenance). `arch` "auto" reads the layout; naming the wrong one raises."""
    found = detect_arch(checkpoint.get("model"))
    state_dict = cast("dict[str, torch.Tensor]", checkpoint["model"])  # checked just above
    if arch not in ("auto", found):
        raise CheckpointError(
            f"{source or 'checkpoint'} holds the published {found!r} layout, not {arch!r}"
        )
    provenance = {
        "format": "published",
        "source": Path(source).name if source is not None else None,
        "sha256": sha256,
        "global_step": checkpoint.get("global_step"),
        "best_mae": _best_mae(checkpoint),
        "dropped": [k for k in state_dict if DROPPED_KEYS.match(k.removeprefix(WRAPPER_PREFIX))],
    }
    return {
        "arch": found,
        "model_config": published_model_config(found, state_dict),
        "model": map_state_dict(found, state_dict),
        "global_step": checkpoint.get("global_step"),
        "provenance": provenance,
    }
