"""Checkpoints: atomic saving, loading with clear errors, and strict-but-helpful state_dict loading."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from .registry import build_model

log = logging.getLogger(__name__)

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
WRAPPER_PREFIX = "module."  # DataParallel / DistributedDataParallel


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or not in the project's format."""


def save_checkpoint(path: str | os.PathLike, checkpoint: dict) -> Path:
    """Write atomically: a temp file in the same folder, fsync, then rename over `path`.

    A crash mid-write therefore never leaves a truncated checkpoint under the real name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(checkpoint, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint dict; a missing, corrupt or foreign file raises CheckpointError naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be read (corrupt or not a torch file): {error}"
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


def load_state_dict_checked(
    model: nn.Module, state_dict: dict[str, torch.Tensor]
) -> tuple[list[str], list[str]]:
    """Load weights, logging missing/unexpected keys; any shape mismatch raises (never skipped).

    Returns (missing_keys, unexpected_keys) so callers can decide to be strict.
    """
    state_dict = strip_wrapper_prefix(state_dict)
    expected = model.state_dict()
    mismatched = [
        f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(expected[key].shape)}"
        for key, value in state_dict.items()
        if key in expected and value.shape != expected[key].shape
    ]
    if mismatched:
        raise ValueError(
            f"{len(mismatched)} weight shape mismatch(es): " + "; ".join(mismatched[:10])
        )
    result = model.load_state_dict(state_dict, strict=False)
    if result.missing_keys:
        log.warning(
            "%d weights missing from the checkpoint (left as initialised): %s",
            len(result.missing_keys),
            result.missing_keys[:10],
        )
    if result.unexpected_keys:
        log.warning(
            "%d unexpected weights ignored: %s",
            len(result.unexpected_keys),
            result.unexpected_keys[:10],
        )
    return list(result.missing_keys), list(result.unexpected_keys)


def load_model(
    path_or_checkpoint: str | os.PathLike | dict, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild the network from `arch` + `model_config`, load its weights, eval mode, on `device`."""
    checkpoint = (
        path_or_checkpoint
        if isinstance(path_or_checkpoint, dict)
        else load_checkpoint(path_or_checkpoint)
    )
    if "arch" not in checkpoint:
        raise CheckpointError("checkpoint has no 'arch' entry: cannot tell which network to build")
    model = build_model(checkpoint["arch"], **(checkpoint.get("model_config") or {}))
    load_state_dict_checked(model, checkpoint["model"])
    return model.to(device).eval(), checkpoint
