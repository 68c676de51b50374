"""The one device resolver of training, evaluation and inference."""

from __future__ import annotations

import torch

from lircdepth.errors import UsageError


class UnavailableError(UsageError, RuntimeError):
    """The requested device, backend or execution provider is not available here."""


def resolve_device(option: str | torch.device, local_rank: int = 0) -> torch.device:
    """`auto` -> CUDA when present, else the CPU; `cuda` without an index -> this process's
    GPU under torchrun (`local_rank` modulo the GPUs); a clear error for an absent CUDA or
    a name torch does not know."""
    if str(option) == "auto":
        option = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(option)
    except (RuntimeError, TypeError) as error:
        raise UsageError(f"--device must be auto, cpu, cuda or cuda:N, got {option!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UnavailableError(
            f"--device {device} was asked for but CUDA is not available here",
            hint="use --device cpu or --device auto",
        )
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return device
