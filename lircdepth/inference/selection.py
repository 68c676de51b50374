"""`backend: auto`: the fastest engine installed for the device, and why it was chosen.

Order (fastest first, as measured with `lircdepth bench inference`):
- on a CUDA GPU: tensorrt (ONNX Runtime's TensorRT provider), then torch on CUDA;
- on a CPU: openvino, then onnxruntime, then torch (the project's inference form):
  OpenVINO needs the least CPU time and memory at the camera's full size, ONNX Runtime
  is still well ahead of torch (CPU time decides, wall time follows the load; the runs:
  docs/experiments.md, "Inference engine order on a CPU").
An engine is skipped when its software is missing; the reason names what to install.
`consider` limits the engines looked at (e.g. a node configured to avoid one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lircdepth.device import resolve_device
from lircdepth.inference.backends import BackendUnavailableError

GPU_ORDER = ("tensorrt", "torch")
CPU_ORDER = ("openvino", "onnxruntime", "torch")
AUTO_ENGINES = ("tensorrt", "openvino", "onnxruntime", "torch")
# Why each engine is where it is in its order: goes into the logged reason and /diagnostics.
RANKING = {
    ("cuda", "tensorrt"): "TensorRT fp16 kernels with cached engines",
    ("cuda", "torch"): "torch on CUDA",
    ("cpu", "openvino"): "measured fastest on a CPU at 896x1600 (1.5x torch) with the least memory",
    ("cpu", "onnxruntime"): "measured 1.4x torch at 896x1600, 3x at 352x704",
    ("cpu", "torch"): "always installed",
}


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
    if engine in ("openvino", "onnxruntime"):
        from lircdepth.inference.backends import import_onnxruntime
        from lircdepth.inference.openvino_backend import import_openvino

        try:
            (import_openvino if engine == "openvino" else import_onnxruntime)()
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
            why = f"fastest installed engine for {device.type}: {RANKING[(device.type, engine)]}"
            if skipped:
                why += f" ({'; '.join(skipped)})"
            return BackendChoice(engine, device, why)
        skipped.append(reason)
    raise BackendUnavailableError(
        f"backend 'auto' found no engine for {device} among {list(allowed)}: {'; '.join(skipped)}"
    )
