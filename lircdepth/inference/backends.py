"""Execution backends: one interface, (image, radar) tensors in, depth [, confidence] out.

- `TorchBackend`: eager PyTorch on CPU or CUDA, channels_last, inference_mode, and
  optionally fp16/bf16 weights and activations on CUDA; with `compile=True` the network
  goes through `torch.compile` (backend name "compile").
- `OnnxRuntimeBackend`: an ONNX model in ONNX Runtime with the best execution providers
  present (TensorRT, CUDA, CPU) or the ones asked for.
- `OpenVinoBackend` (openvino_backend.py): OpenVINO on the CPU, fp32 / bf16 / int8.
- `TensorRTBackend` (tensorrt_backend.py): TensorRT on a GPU, fp16, cached engines.
`selection.choose_backend` picks one of them for `auto`.

A backend whose software is missing raises `BackendUnavailableError` naming what to install.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import torch

from lircdepth.device import UnavailableError

BACKEND_NAMES = ("auto", "torch", "compile", "onnxruntime", "openvino", "tensorrt")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Fastest first; ONNX Runtime falls back along this list node by node.
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
OUTPUT_NAMES = ("depth", "confidence")
INPUT_NAMES = ("image", "radar")


CACHE_ENV = "LIRCDEPTH_CACHE_DIR"


def default_cache_dir(engine: str) -> Path:
    """Where compiled engines live: $LIRCDEPTH_CACHE_DIR/<engine>, else ~/.cache/lircdepth/<engine>."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lircdepth"
    return Path(root) / engine


BackendUnavailableError = UnavailableError  # the one error of lircdepth.device


@dataclass
class NetworkOutputs:
    """Network-size outputs: depth B x h x w metres, confidence B x h x w or None."""

    depth: torch.Tensor
    confidence: torch.Tensor | None


class Backend(ABC):
    """Runs a network on batches that preprocessing already placed on `self.device`."""

    name: str
    device: torch.device
    precision: str = "fp32"

    @abstractmethod
    def run(self, image: torch.Tensor, radar: torch.Tensor) -> NetworkOutputs:
        """Forward pass; returns when the outputs are computed (device synchronised)."""


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """The torch dtype for `fp32` / `fp16` / `bf16`; reduced precision only on CUDA."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    if dtype != "fp32" and device.type != "cuda":
        raise ValueError(f"dtype {dtype} is only supported on CUDA (device is {device})")
    return DTYPES[dtype]


class TorchBackend(Backend):
    """Eager (or compiled) PyTorch; weights and inputs in channels_last for faster convolutions."""

    def __init__(
        self, net: torch.nn.Module, device: torch.device, dtype: str = "fp32", compile: bool = False
    ) -> None:
        self.device = device
        self.dtype = resolve_dtype(dtype, device)
        self.precision = dtype
        self.name = "compile" if compile else "torch"
        # Module.to takes memory_format at run time; torch's overloads leave it out.
        net = net.eval().to(device=device, dtype=self.dtype, memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.net = torch.compile(net, dynamic=False) if compile else net

    def run(self, image: torch.Tensor, radar: torch.Tensor) -> NetworkOutputs:
        with torch.inference_mode():
            outputs = self.net(self._prepare(image), self._prepare(radar))
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        return outputs_from(tuple(output.float() for output in outputs))

    def _prepare(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(self.device, self.dtype, non_blocking=True).contiguous(
            memory_format=torch.channels_last
        )


class OnnxRuntimeBackend(Backend):
    """An ONNX model (a file or its bytes) in ONNX Runtime; inputs arrive as CPU tensors."""

    def __init__(
        self,
        model: str | Path | bytes,
        providers: list[str] | None = None,
        fp16: bool = False,
        threads: int | None = None,
    ) -> None:
        ort = import_onnxruntime()
        self.name = "onnxruntime"
        self.precision = "fp16" if fp16 else "fp32"
        self.device = torch.device("cpu")
        self.providers = choose_providers(ort.get_available_providers(), providers)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        # Idle worker threads sleep instead of spinning: a node shares its cores with
        # its callbacks and other processes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model_source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(
            model_source, sess_options=options, providers=_provider_options(self.providers, fp16)
        )
        self.output_names = [output.name for output in self.session.get_outputs()]
        self.input_shape = self.session.get_inputs()[0].shape
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, image: torch.Tensor, radar: torch.Tensor) -> NetworkOutputs:
        self._check_shape(tuple(image.shape))
        feeds = {INPUT_NAMES[0]: image.cpu().numpy(), INPUT_NAMES[1]: radar.cpu().numpy()}
        outputs = self.session.run(self.output_names, feeds)
        return outputs_from(tuple(torch.from_numpy(output) for output in outputs))

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        fixed = [
            (got, want)
            for got, want in zip(shape, self.input_shape, strict=False)
            if isinstance(want, int)
        ]
        if any(got != want for got, want in fixed):
            raise ValueError(
                f"this ONNX model has a fixed input shape {self.input_shape}; got network input {list(shape)} "
                "(export without --fixed-size for dynamic sizes)"
            )


def import_onnxruntime():
    """The onnxruntime module, or a BackendUnavailableError saying how to get it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise BackendUnavailableError(
            "backend 'onnxruntime' needs the onnxruntime package: pip install onnxruntime "
            "(or onnxruntime-gpu for CUDA / TensorRT)"
        ) from error
    return onnxruntime


def choose_providers(available: list[str], requested: list[str] | None) -> list[str]:
    """Requested providers (all must exist), or every preferred one that exists, fastest first."""
    if requested is None:
        return [provider for provider in PREFERRED_PROVIDERS if provider in available]
    missing = [provider for provider in requested if provider not in available]
    if missing:
        raise BackendUnavailableError(
            f"ONNX Runtime execution providers {missing} not available; present: {available}"
        )
    return list(requested)


def _provider_options(providers: list[str], fp16: bool) -> list:
    """TensorRT gets its fp16 switch and an engine cache (building an engine takes minutes)."""
    if "TensorrtExecutionProvider" not in providers:
        return providers
    cache = default_cache_dir("tensorrt")
    cache.mkdir(parents=True, exist_ok=True)
    trt_options = {
        "trt_fp16_enable": fp16,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(cache),
    }
    return [(p, trt_options) if p == "TensorrtExecutionProvider" else p for p in providers]


def outputs_from(outputs: tuple[torch.Tensor, ...]) -> NetworkOutputs:
    depth = outputs[0][:, 0]
    confidence = outputs[1][:, 0] if len(outputs) > 1 else None
    return NetworkOutputs(depth, confidence)
