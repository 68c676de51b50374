"""ONNX export of an inference network, checked with onnx and against PyTorch.

The exported model takes network-size inputs (`image` B x 3 x h x w normalised,
`radar` B x 4 x h x w, h and w divisible by 32) and returns `depth` (and `confidence`
for the teacher). Batch and image size are dynamic unless fixed. The network's
`arch` and `max_depth` travel in the model's metadata so `DepthEstimator.from_onnx`
needs nothing else.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lircdepth.atomic import write_atomic
from lircdepth.errors import JobError
from lircdepth.inference.backends import INPUT_NAMES, OUTPUT_NAMES, OnnxRuntimeBackend
from lircdepth.inference.network import LoadedNetwork

DEFAULT_OPSET = 17
# Opsets this export produces and checks with onnxruntime (torch 2.14, onnxruntime 1.32).
OPSET_RANGE = (9, 23)
# Small trace size: tracing is fast, and a size unlike any real one exposes shapes that
# the trace would otherwise bake in (the check runs at a second size).
TRACE_SIZE = (96, 160)
CHECK_SIZE = (128, 224)
# fp32 network against fp32 ONNX Runtime: kernels differ in summation order only.
DEFAULT_TOLERANCE_M = 1e-2


@dataclass(frozen=True)
class ExportCheck:
    """Largest absolute difference between ONNX Runtime and PyTorch, per output, at one size."""

    size: tuple[int, int]
    max_abs_diff: dict[str, float]


def example_inputs(
    batch: int, height: int, width: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A normalised random image and a sparse radar map (about 1% of pixels) of one size."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.randn(batch, 3, height, width, generator=generator)
    radar = torch.rand(batch, 4, height, width, generator=generator) * 60.0
    hits = torch.rand(batch, 1, height, width, generator=generator) < 0.01
    return image, radar * hits


def export_to_bytes(
    loaded: LoadedNetwork,
    fixed_size: tuple[int, int] | None = None,
    fixed_batch: int | None = None,
    opset: int = DEFAULT_OPSET,
) -> bytes:
    """Serialised ONNX model, validated by `onnx.checker`, with arch/max_depth metadata."""
    import onnx

    height, width = fixed_size or TRACE_SIZE
    net = loaded.net.eval()
    output_names = list(OUTPUT_NAMES[: 2 if net.has_confidence else 1])
    dynamic_axes = {}
    for name in [*INPUT_NAMES, *output_names]:
        axes = {} if fixed_batch else {0: "batch"}
        if not fixed_size:
            axes.update({2: "height", 3: "width"})
        if axes:
            dynamic_axes[name] = axes
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            net,
            example_inputs(fixed_batch or 1, height, width),
            buffer,  # type: ignore[arg-type]  # a file object is documented; the stub says path
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=output_names,
            dynamic_axes=dynamic_axes or None,
            opset_version=opset,
            do_constant_folding=True,
        )
    model = onnx.load_model_from_string(buffer.getvalue())
    onnx.helper.set_model_props(model, {"arch": loaded.arch, "max_depth": str(loaded.max_depth)})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def check_against_torch(
    loaded: LoadedNetwork, onnx_model: bytes, size: tuple[int, int], batch: int = 1
) -> ExportCheck:
    """Run PyTorch and ONNX Runtime (CPU) on the same inputs and compare every output."""
    image, radar = example_inputs(batch, *size, seed=1)
    with torch.inference_mode():
        expected = loaded.net.eval()(image, radar)
    produced = OnnxRuntimeBackend(onnx_model, providers=["CPUExecutionProvider"]).session.run(
        None, {INPUT_NAMES[0]: image.numpy(), INPUT_NAMES[1]: radar.numpy()}
    )
    diffs = {
        name: float(np.abs(ours - theirs.numpy()).max())
        for name, ours, theirs in zip(OUTPUT_NAMES, produced, expected, strict=False)
    }
    return ExportCheck(size, diffs)


def export_onnx(
    loaded: LoadedNetwork,
    out: str | Path,
    fixed_size: tuple[int, int] | None = None,
    fixed_batch: int | None = None,
    opset: int = DEFAULT_OPSET,
    tolerance: float = DEFAULT_TOLERANCE_M,
) -> list[ExportCheck]:
    """Export, verify numerically (at two sizes when dynamic), then write `out` atomically.

    Raises JobError, and writes nothing, when ONNX Runtime and PyTorch disagree by
    more than `tolerance` metres.
    """
    model = export_to_bytes(loaded, fixed_size, fixed_batch, opset)
    sizes = [fixed_size] if fixed_size else [TRACE_SIZE, CHECK_SIZE]
    checks = [check_against_torch(loaded, model, size, fixed_batch or 1) for size in sizes]
    worst = max(max(check.max_abs_diff.values()) for check in checks)
    if worst > tolerance:
        raise JobError(
            f"ONNX model differs from PyTorch by {worst:.3g} (tolerance {tolerance}): {checks}"
        )
    write_atomic(out, model)
    return checks
