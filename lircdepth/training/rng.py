"""Seeding and the random-number state that a checkpoint carries for exact resume."""

from __future__ import annotations

import random
from typing import cast

import numpy as np
import torch


def seed_everything(seed: int, rank: int = 0, deterministic: bool = False) -> None:
    """Seed python, numpy and torch (CPU and CUDA); each DDP rank gets its own stream."""
    process_seed = seed + rank
    random.seed(process_seed)
    np.random.seed(process_seed % 2**32)
    torch.manual_seed(process_seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def capture_rng_state() -> dict:
    """Every generator a training step may draw from."""
    # numpy's state as plain Python (its key array as a list), so checkpoints load with
    # torch.load(weights_only=True) and no numpy globals allowed.
    # legacy=True (the default): the 5-tuple, never the dict the stubs also allow.
    legacy = cast("tuple[str, np.ndarray, int, int, float]", np.random.get_state())
    name, keys, position, has_gauss, cached_gaussian = legacy
    state = {
        "python": random.getstate(),
        "numpy": (name, keys.tolist(), position, has_gauss, cached_gaussian),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Undo `capture_rng_state`; CUDA states are restored only where CUDA exists."""
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached_gaussian = state["numpy"]
    np.random.set_state(
        (name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached_gaussian)
    )
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
