"""OpenVINO on the CPU: the fastest CPU engine for this network (fp32, bf16, int8).

The project's ONNX export is read by OpenVINO and compiled once per input shape (a
static shape runs many times faster than OpenVINO's dynamic-shape path). Compiled
models go to OpenVINO's CACHE_DIR, so a restarted node loads them instead of
compiling again.

Precisions:
- fp32: OpenVINO's f32 kernels (set explicitly: on CPUs with bf16 OpenVINO would
  otherwise pick bf16 by itself).
- bf16: weights and activations in bfloat16; only where the CPU has native bf16
  (AVX512_BF16 or AMX), which OpenVINO reports as the BF16 capability.
- int8: NNCF post-training quantisation of the OpenVINO model, calibrated on network
  inputs from a prepared dataset (see `lircdepth.inference.calibration`). The
  quantised model is stored in the cache, keyed by the model and the calibration
  inputs, so it is made once.

The int8 recipe (`quantise`): only two parts of the network move the MAE when quantised,
both kept in float (FLOAT_SCOPES), and activation ranges are the plain min/max over the
calibration frames (MINMAX), which changes pixels less than NNCF's default; how it was
chosen and what it costs: docs/experiments.md, "The OpenVINO int8 recipe".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lircdepth.inference.backends import (
    INPUT_NAMES,
    Backend,
    BackendUnavailableError,
    NetworkOutputs,
    default_cache_dir,
    outputs_from,
)

PRECISIONS = ("fp32", "bf16", "int8")
INFERENCE_PRECISION = {"fp32": "f32", "bf16": "bf16"}
# Kept in float by int8 (the measurements: docs/experiments.md, "The OpenVINO int8 recipe"):
# - the radar encoder: its input is a sparse map of raw metres (zeros almost everywhere,
#   up to 80 m at a few pixels), which one int8 scale cannot hold;
# - the inputs of the 1x1 expand convolutions of decoder stage 3 and of the second block
#   of stage 2 (fused image + radar features at 1/4 and 1/2 size): the only parts whose
#   quantisation moved the MAE by more than about 1 %. The first block of stage 2 stays
#   int8: float there gave the same MAE and cost part of the int8 speed-up.
FLOAT_SCOPES = (
    ".*radar_encoder.*",
    "/network/decoder/stage3/.*/expand/.*",
    "/network/decoder/stage2/stage2.1/expand/.*",
)
# Part of the cache key of a quantised model: change it when the recipe changes.
QUANTISATION_RECIPE = f"nncf-mixed-minmax-float:{','.join(FLOAT_SCOPES)}"


def import_openvino():
    """The openvino module, or a BackendUnavailableError saying how to get it."""
    try:
        import openvino
    except ImportError as error:
        raise BackendUnavailableError(
            "backend 'openvino' needs the openvino package: pip install openvino"
        ) from error
    return openvino


def cpu_capabilities(core) -> list[str]:
    """OpenVINO's CPU optimisation capabilities, e.g. ['FP32', 'BF16', 'INT8', ...]."""
    return list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def check_precision(precision: str, capabilities: Sequence[str]) -> None:
    """ValueError for an unknown precision, BackendUnavailableError for one this CPU lacks."""
    if precision not in PRECISIONS:
        raise ValueError(f"openvino precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" and "BF16" not in capabilities:
        raise BackendUnavailableError(
            "openvino bf16 needs a CPU with native bfloat16 (AVX512_BF16 or AMX); "
            f"this CPU offers {', '.join(capabilities)}: use fp32 or int8"
        )


class OpenVinoBackend(Backend):
    """An ONNX model (bytes) in OpenVINO on the CPU; inputs arrive as CPU tensors."""

    def __init__(
        self,
        onnx_model: bytes,
        precision: str = "fp32",
        calibration: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
        threads: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        ov = import_openvino()
        self.name = "openvino"
        self.device = torch.device("cpu")
        self.precision = precision
        self.core = ov.Core()
        check_precision(precision, cpu_capabilities(self.core))
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir("openvino")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.core.set_property({"CACHE_DIR": str(self.cache_dir)})
        self.config = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            "INFERENCE_NUM_THREADS": threads or torch.get_num_threads(),
        }
        if precision in INFERENCE_PRECISION:
            self.config["INFERENCE_PRECISION_HINT"] = INFERENCE_PRECISION[precision]
        self.model = self.core.read_model(onnx_model, b"")
        if precision == "int8":
            self.model = self._quantised(onnx_model, calibration)
        self._requests: dict[tuple[tuple[int, ...], ...], Any] = {}

    def _quantised(self, onnx_model: bytes, calibration) -> object:
        """The NNCF-quantised model, from the cache when these inputs made it before."""
        if not calibration:
            raise ValueError(
                "openvino int8 needs calibration frames (e.g. calibration=<prepared dataset>)"
            )
        digest = hashlib.sha256(onnx_model)
        digest.update(QUANTISATION_RECIPE.encode())
        for image, radar in calibration:
            digest.update(np.ascontiguousarray(image).tobytes())
            digest.update(np.ascontiguousarray(radar).tobytes())
        path = self.cache_dir / f"int8-{digest.hexdigest()[:24]}.xml"
        self.quantised_path = path
        if path.is_file():
            return self.core.read_model(str(path))
        model = quantise(self.model, calibration)
        ov = import_openvino()
        partial = path.with_name("partial-" + path.name)
        ov.save_model(model, str(partial), compress_to_fp16=False)
        partial.with_suffix(".bin").replace(path.with_suffix(".bin"))
        partial.replace(path)
        return model

    def compiled_for(self, shapes: tuple[tuple[int, ...], ...]):
        """An infer request of the model compiled for these input shapes (compiled once)."""
        request = self._requests.get(shapes)
        if request is None:
            model = self.model.clone()
            model.reshape(dict(zip(INPUT_NAMES, (list(s) for s in shapes), strict=True)))
            compiled = self.core.compile_model(model, "CPU", self.config)
            request = self._requests[shapes] = compiled.create_infer_request()
        return request

    def run(self, image: torch.Tensor, radar: torch.Tensor) -> NetworkOutputs:
        feeds = [image.cpu().contiguous().numpy(), radar.cpu().contiguous().numpy()]
        request = self.compiled_for(tuple(feed.shape for feed in feeds))
        results = request.infer(dict(zip(INPUT_NAMES, feeds, strict=True)), share_inputs=True)
        outputs = [results[output] for output in request.model_outputs]
        return outputs_from(tuple(torch.from_numpy(output) for output in outputs))


def quantise(model, calibration: Sequence[tuple[np.ndarray, np.ndarray]]):
    """NNCF post-training int8 quantisation of an OpenVINO model on network inputs.

    Calibrated at the calibration inputs' (static) shape; quantisation parameters do not
    depend on the image size, so the result is reshaped to any size later.
    """
    try:
        import nncf
    except ImportError as error:
        raise BackendUnavailableError(
            "openvino int8 needs the nncf package: pip install nncf"
        ) from error
    nncf.set_log_level(logging.WARNING)  # its INFO lists every float-kept layer
    shapes = [np.asarray(array).shape for array in calibration[0]]
    model = model.clone()
    model.reshape({name: [1, *shape[-3:]] for name, shape in zip(INPUT_NAMES, shapes, strict=True)})
    samples = [
        {
            name: np.ascontiguousarray(np.asarray(array, dtype=np.float32).reshape(1, *shape[-3:]))
            for name, array, shape in zip(INPUT_NAMES, pair, shapes, strict=True)
        }
        for pair in calibration
    ]
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    quantised = nncf.quantize(
        model,
        nncf.Dataset(samples),
        subset_size=len(samples),
        preset=nncf.QuantizationPreset.MIXED,
        ignored_scope=nncf.IgnoredScope(patterns=list(FLOAT_SCOPES), validate=False),
        advanced_parameters=nncf.AdvancedQuantizationParameters(
            activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX
        ),
    )
    dynamic = {
        name: [-1, shape[-3], -1, -1] for name, shape in zip(INPUT_NAMES, shapes, strict=True)
    }
    quantised.reshape(dynamic)
    return quantised
