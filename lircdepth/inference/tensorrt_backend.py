"""TensorRT on an NVIDIA GPU through ONNX Runtime's TensorRT execution provider.

What a deployment on a GPU wants, and what this backend does:
- fp16 kernels (TensorRT picks fp16 where it is faster, fp32 elsewhere);
- an engine cache and a timing cache on disk: building an engine takes minutes, loading
  one takes a second, so a restarted node starts quickly;
- inputs and outputs stay on the GPU: preprocessing already put the batch on the device,
  and ONNX Runtime reads and writes torch's CUDA memory through I/O binding (no host
  round trip);
- optional CUDA graphs (`cuda_graph=True`): the whole network is launched as one graph
  from fixed buffers, which removes per-kernel launch cost at small sizes; a graph holds
  one input shape, so this is for nodes with one camera size.

Without ONNX Runtime's TensorRT provider (package onnxruntime-gpu plus the tensorrt
libraries) or without a CUDA GPU it raises `BackendUnavailableError` saying which.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lircdepth.inference.backends import (
    INPUT_NAMES,
    Backend,
    BackendUnavailableError,
    NetworkOutputs,
    default_cache_dir,
    import_onnxruntime,
    outputs_from,
)

TENSORRT_PROVIDER = "TensorrtExecutionProvider"
INSTALL_HINT = "pip install onnxruntime-gpu tensorrt"


def tensorrt_unavailable_reason() -> str | None:
    """Why the TensorRT backend cannot run here (naming what to install), or None if it can."""
    try:
        ort = import_onnxruntime()
    except BackendUnavailableError as error:
        return str(error)
    if TENSORRT_PROVIDER not in ort.get_available_providers():
        return (
            f"backend 'tensorrt' needs ONNX Runtime's {TENSORRT_PROVIDER}: {INSTALL_HINT} "
            f"(this onnxruntime offers {', '.join(ort.get_available_providers())})"
        )
    if not torch.cuda.is_available():
        return "backend 'tensorrt' needs a CUDA GPU; torch sees none here"
    return None


class TensorRTBackend(Backend):
    """An ONNX model (bytes) run by TensorRT; inputs and outputs are CUDA tensors."""

    def __init__(
        self,
        onnx_model: bytes,
        device: torch.device,
        fp16: bool = True,
        cuda_graph: bool = False,
        cache_dir: str | Path | None = None,
    ) -> None:
        reason = tensorrt_unavailable_reason()
        if reason:
            raise BackendUnavailableError(reason)
        if device.type != "cuda":
            raise BackendUnavailableError(f"backend 'tensorrt' runs on a CUDA device, not {device}")
        ort = import_onnxruntime()
        self.name = "tensorrt"
        self.precision = "fp16" if fp16 else "fp32"
        self.device = device
        self.cuda_graph = cuda_graph
        cache = Path(cache_dir) if cache_dir else default_cache_dir("tensorrt")
        cache.mkdir(parents=True, exist_ok=True)
        index = device.index if device.index is not None else torch.cuda.current_device()
        self.device_index = index
        trt_options = {
            "device_id": index,
            "trt_fp16_enable": fp16,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
            "trt_cuda_graph_enable": cuda_graph,
        }
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            onnx_model,
            sess_options=options,
            providers=[
                (TENSORRT_PROVIDER, trt_options),
                ("CUDAExecutionProvider", {"device_id": index}),
            ],
        )
        self.output_names = [output.name for output in self.session.get_outputs()]
        self._bound: dict[tuple, tuple] = {}

    def _buffers(self, image: torch.Tensor, radar: torch.Tensor) -> tuple:
        """Fixed input/output buffers and their I/O binding for one input shape."""
        key = (tuple(image.shape), tuple(radar.shape))
        if key not in self._bound:
            if self.cuda_graph and self._bound:
                raise ValueError(
                    "tensorrt with cuda_graph=True runs one input shape; got a second one "
                    f"{list(image.shape)} (make one estimator per camera size)"
                )
            inputs = (torch.empty_like(image), torch.empty_like(radar))
            batch, _, height, width = image.shape
            outputs = [
                torch.empty((batch, 1, height, width), device=self.device)
                for _ in self.output_names
            ]
            binding = self.session.io_binding()
            for name, tensor in [
                *zip(INPUT_NAMES, inputs, strict=True),
                *zip(self.output_names, outputs, strict=True),
            ]:
                bind = binding.bind_input if name in INPUT_NAMES else binding.bind_output
                bind(
                    name,
                    "cuda",
                    self.device_index,
                    np.float32,
                    tuple(tensor.shape),
                    tensor.data_ptr(),
                )
            self._bound[key] = (inputs, outputs, binding)
        return self._bound[key]

    def run(self, image: torch.Tensor, radar: torch.Tensor) -> NetworkOutputs:
        image = image.to(self.device, torch.float32).contiguous()
        radar = radar.to(self.device, torch.float32).contiguous()
        inputs, outputs, binding = self._buffers(image, radar)
        inputs[0].copy_(image)
        inputs[1].copy_(radar)
        # ONNX Runtime runs on its own stream: the copies above must have landed.
        torch.cuda.current_stream(self.device).synchronize()
        self.session.run_with_iobinding(binding)
        return outputs_from(tuple(output.clone() for output in outputs))
