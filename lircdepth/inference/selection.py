"""`backend: auto`: the fastest engine installed for the device, and why it was chosen.

Order (fastest first, as measured with `lircdepth bench inference`):
- on a CUDA GPU: tensorrt (ONNX Runtime's TensorRT provider), then torch on CUDA;
- on a CPU: openvino, then torch (the project's inference form).
An engine is skipped when its software is missing; the reason names what to install.
`consider` limits the engines looked at (e.g. a node configured to avoid one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lircdepth.inference.backends import BackendUnavailableError, resolve_device

GPU_ORDER = ("tensorrt", "torch")
CPU_ORDER = ("openvino", "torch")
AUTO_ENGINES = ("tensorrt", "openvino", "torch")


@dataclass(frozen=True)
class BackendChoice:
    """The engine `auto` picked for a device, and a one-line reason for logs and diagnostics."""

    backend: str
    device: torch.device
    reason: str


def unavailable_reason(engine: str, device: torch.device) -> str | None:
    """Why `engine` cannot run on `device` here (naming what to install), or None if it can."""
    if engine == "torch":
        return None
    if engine == "tensorrt":
        from lircdepth.inference.tensorrt_backend import tensorrt_unavailable_reason

        return tensorrt_unavailable_reason()
    if engine == "openvino":
        from lircdepth.inference.openvino_backend import import_openvino

        try:
            import_openvino()
        except BackendUnavailableError as error:
            return str(error)
        return None
    raise ValueError(f"auto considers only {AUTO_ENGINES}, got {engine!r}")


def choose_backend(
    device: str | torch.device = "auto", consider: Sequence[str] | None = None
) -> BackendChoice:
    """The first engine of the device's order that is considered and installed."""
    device = resolve_device(device)
    order = GPU_ORDER if device.type == "cuda" else CPU_ORDER
    allowed = AUTO_ENGINES if consider is None else tuple(consider)
    unknown = [engine for engine in allowed if engine not in AUTO_ENGINES]
    if unknown:
        raise ValueError(f"auto considers only {AUTO_ENGINES}, got {unknown}")
    skipped = []
    for engine in order:
        if engine not in allowed:
            skipped.append(f"{engine}: not considered")
            continue
        reason = unavailable_reason(engine, device)
        if reason is None:
            why = f"fastest installed engine for {device.type}"
            if skipped:
                why += f" ({'; '.join(skipped)})"
            return BackendChoice(engine, device, why)
        skipped.append(reason)
    raise BackendUnavailableError(
        f"backend 'auto' found no engine for {device} among {list(allowed)}: {'; '.join(skipped)}"
    )
