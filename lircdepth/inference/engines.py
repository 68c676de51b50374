"""Build the backend a `DepthEstimator` asked for from a loaded network.

One place knows which engine takes which precision and which inputs (the torch module,
or the ONNX export for ONNX Runtime, OpenVINO and TensorRT).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lircdepth.device import resolve_device
from lircdepth.inference.backends import (
    BACKEND_NAMES,
    Backend,
    OnnxRuntimeBackend,
    TorchBackend,
)
from lircdepth.inference.calibration import DEFAULT_FRAMES
from lircdepth.inference.network import LoadedNetwork
from lircdepth.inference.selection import BackendChoice, choose_backend

ENGINE_DTYPES = {
    "torch": ("fp32", "fp16", "bf16"),
    "compile": ("fp32", "fp16", "bf16"),
    "onnxruntime": ("fp32", "fp16"),
    "openvino": ("fp32", "bf16", "int8"),
    "tensorrt": ("fp16", "fp32"),
}


@dataclass
class EngineOptions:
    """Everything besides the network that decides how it runs.

    calibration: int8 only, a prepared dataset folder (its train split; at most
    `calibration_frames` frames spread over it) or (image, radar points) frames.
    consider: engines `auto` may pick (default all). threads: CPU threads (default
    torch's). cache_dir: compiled-engine cache (default ~/.cache/lircdepth/<engine>).
    cuda_graph: TensorRT launches one CUDA graph per frame (one input size only).
    """

    device: str | torch.device = "auto"
    backend: str = "auto"
    dtype: str = "fp32"
    providers: list[str] | None = None
    calibration: str | Path | list[tuple[np.ndarray, np.ndarray]] | None = None
    calibration_frames: int = DEFAULT_FRAMES
    consider: Sequence[str] | None = None
    threads: int | None = None
    cache_dir: str | Path | None = None
    cuda_graph: bool = False


def resolve_choice(options: EngineOptions) -> BackendChoice:
    """The engine to build: `auto` resolved, or the one requested."""
    if options.backend not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {BACKEND_NAMES}, got {options.backend!r}")
    if options.backend == "auto":
        return choose_backend(options.device, options.consider)
    if options.backend in ("openvino", "onnxruntime"):
        device = torch.device("cpu")
    else:
        device = resolve_device(options.device)
    return BackendChoice(options.backend, device, "requested")


def build_backend(loaded: LoadedNetwork, choice: BackendChoice, options: EngineOptions) -> Backend:
    """The backend for `choice`, after checking that it runs `options.dtype`."""
    engine, dtype = choice.backend, options.dtype
    if dtype not in ENGINE_DTYPES[engine]:
        raise ValueError(f"backend {engine!r} runs dtype {ENGINE_DTYPES[engine]}, not {dtype!r}")
    if engine in ("torch", "compile"):
        return TorchBackend(loaded.net, choice.device, dtype=dtype, compile=engine == "compile")
    from lircdepth.inference.export import export_to_bytes

    onnx_model = export_to_bytes(loaded)
    if engine == "onnxruntime":
        return OnnxRuntimeBackend(
            onnx_model, providers=options.providers, fp16=dtype == "fp16", threads=options.threads
        )
    if engine == "openvino":
        from lircdepth.inference.calibration import calibration_inputs
        from lircdepth.inference.openvino_backend import OpenVinoBackend

        calibration = None
        if dtype == "int8" and options.calibration is not None:
            calibration = calibration_inputs(options.calibration, frames=options.calibration_frames)
        return OpenVinoBackend(
            onnx_model, dtype, calibration, threads=options.threads, cache_dir=options.cache_dir
        )
    from lircdepth.inference.tensorrt_backend import TensorRTBackend

    return TensorRTBackend(
        onnx_model,
        choice.device,
        fp16=dtype == "fp16",
        cuda_graph=options.cuda_graph,
        cache_dir=options.cache_dir,
    )
