"""Checkpoints: atomic saving, safe loading with clear errors, and all-or-nothing weight loading."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from lircdepth.atomic import atomic_open
from lircdepth.errors import BadValueError

from .checkpoint_errors import WRAPPER_PREFIX, CheckpointError
from .checkpoint_schema import check_checkpoint_entries, check_weights, first_bad_tensor
from .published import convert_published, is_published_checkpoint
from .registry import build_model
from .safe_load import safe_torch_load

CHECKPOINT_KEYS = (
    "arch",
    "model_config",
    "model",
    "config",
    "global_step",
    "epoch",
    "optimizer",
    "scheduler",
    "rng",
    "best",
)


def save_checkpoint(path: str | os.PathLike, checkpoint: dict) -> Path:
    """Write atomically: a temp file in the same folder, fsync, then rename over `path`.

    A crash mid-write therefore never leaves a truncated checkpoint under the real name.
    """
    path = Path(path)
    with atomic_open(path, durable=True) as file:
        torch.save(checkpoint, file)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint dict safely (`weights_only`, see safe_load); a missing, corrupt or
    foreign file raises CheckpointError naming it. Project files and the authors' published
    files are both accepted here; `load_model` tells them apart."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        checkpoint = safe_torch_load(path, map_location=map_location)
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be read safely (corrupt, not a torch file, or it needs "
            f"code to unpickle): {error}"
        ) from error
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        found = (
            sorted(checkpoint)[:10] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        )
        raise CheckpointError(
            f"{path} is not a LiRCDepth checkpoint: no 'model' entry (found {found})"
        )
    return checkpoint


def strip_wrapper_prefix(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the `module.` prefix that DataParallel/DDP add to every key."""
    if state_dict and all(key.startswith(WRAPPER_PREFIX) for key in state_dict):
        return {key[len(WRAPPER_PREFIX) :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def _listed(names: list[str], limit: int = 10) -> str:
    more = f", ... and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def state_dict_problems(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> list[str]:
    """Every way `state_dict` fails to fill `model` exactly: missing, unexpected, wrong shape."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    mismatched = [
        f"{key}: checkpoint {tuple(value.shape)} vs network {tuple(expected[key].shape)}"
        for key, value in state_dict.items()
        if key in expected and value.shape != expected[key].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} weight(s) missing: {_listed(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected weight(s): {_listed(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): {_listed(mismatched)}")
    return problems


def load_state_dict_strict(
    model: nn.Module, state_dict: dict[str, torch.Tensor], source: str = "checkpoint"
) -> None:
    """Load every weight or none: any missing, unexpected or mis-shaped key raises
    CheckpointError naming it (and `source`) before the model is touched, so no network
    is ever left half-loaded. A DataParallel `module.` prefix is dropped first."""
    state_dict = strip_wrapper_prefix(state_dict)
    bad = first_bad_tensor(state_dict)
    if bad is not None:
        raise CheckpointError(f"{source}: weight {bad}; refusing to use it")
    problems = state_dict_problems(model, state_dict)
    if problems:
        raise CheckpointError(
            f"{source} does not fit the {type(model).__name__} network: " + "; ".join(problems)
        )
    model.load_state_dict(state_dict, strict=True)


def load_model(
    path_or_checkpoint: str | os.PathLike | dict, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild the network from `arch` + `model_config`, load all its weights, eval mode, on
    `device`. Takes a project checkpoint or one of the authors' published files (converted
    on the fly, see published.py); returns the network and the project-format checkpoint."""
    is_path = not isinstance(path_or_checkpoint, dict)
    checkpoint: dict
    if isinstance(path_or_checkpoint, dict):
        checkpoint = path_or_checkpoint
    else:
        checkpoint = load_checkpoint(path_or_checkpoint)
    source = f"checkpoint {path_or_checkpoint}" if is_path else "checkpoint"
    check_weights(checkpoint.get("model"), source)  # before any layout is read from them
    if "arch" not in checkpoint and is_published_checkpoint(checkpoint):
        path = None if isinstance(path_or_checkpoint, dict) else path_or_checkpoint
        checkpoint = convert_published(checkpoint, source=path)
    if "arch" not in checkpoint:
        raise CheckpointError(
            f"{source} has no 'arch' entry and is not a published LiRCDepth/CaFNet file: "
            "cannot tell which network to build"
        )
    check_checkpoint_entries(checkpoint, source)  # converted files: their config too
    try:
        model = build_model(checkpoint["arch"], **(checkpoint.get("model_config") or {}))
    except BadValueError as error:
        raise CheckpointError(f"{source}: {error}") from error
    load_state_dict_strict(model, checkpoint["model"], source)
    return model.to(device).eval(), checkpoint
