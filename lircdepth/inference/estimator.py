"""`DepthEstimator`: camera image + radar points in, metric depth at the input size out.

The one inference API used by the ROS node, the bag tools, the demo and scripts.
It normalises the image, rasterises the radar with the shared
`geometry.rasterize_radar`, fits the frame to the network (see
`lircdepth.inference.preprocess` for the size policy), runs a backend and returns
full-size maps.

Threading: intended for one caller thread (the node's callback thread). Calls are
serialised by a lock, so a second thread is safe but waits; for parallel throughput
create one estimator per thread (or batch cameras with `estimate_batch`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch

from lircdepth.inference import preprocess
from lircdepth.inference.backends import Backend, OnnxRuntimeBackend
from lircdepth.inference.engines import EngineOptions, build_backend, resolve_choice
from lircdepth.inference.network import DEFAULT_MAX_DEPTH, STUDENT_ARCH, load_network

LOGGER = logging.getLogger(__name__)
# The teacher's confidence is unknown where the network never looked (restored top rows).
UNSEEN_UNCERTAINTY = 1.0


@dataclass
class DepthResult:
    """Depth (H x W float32 metres), uncertainty (H x W in [0, 1], or None when the network
    has none: the student) and per-stage seconds (preprocess, model, postprocess).
    """

    depth: np.ndarray
    uncertainty: np.ndarray | None
    timings: dict[str, float] = field(default_factory=dict)


class DepthEstimator:
    """Runs a depth network on camera frames; build it with `from_checkpoint` or `from_onnx`."""

    def __init__(
        self, backend: Backend, max_depth: float, arch: str, reason: str = "requested"
    ) -> None:
        self.backend_impl = backend
        self.backend_reason = reason
        self.max_depth = max_depth
        self.arch = arch
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """The engine running the network: torch, compile, onnxruntime, openvino or tensorrt."""
        return self.backend_impl.name

    @property
    def backend_name(self) -> str:
        """The engine and its precision, e.g. "openvino int8", for logs and diagnostics."""
        return f"{self.backend} {self.backend_impl.precision}"

    @property
    def device(self) -> torch.device:
        return self.backend_impl.device

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str | torch.device = "auto",
        backend: str = "auto",
        dtype: str = "fp32",
        fast: bool = True,
        providers: list[str] | None = None,
        **engine_options,
    ) -> DepthEstimator:
        """Load a training checkpoint (student or teacher) for inference.

        backend: "auto" (the fastest engine installed for the device, see
        `lircdepth.inference.selection`), "torch" (eager), "compile" (torch.compile),
        "onnxruntime", "openvino" (CPU) or "tensorrt" (GPU); the last three run the ONNX
        export made in memory. device: "auto", "cpu" or "cuda[:n]". dtype: "fp32";
        "fp16" on CUDA; "bf16" on CUDA or in OpenVINO on a CPU with native bf16; "int8"
        in OpenVINO (needs `calibration=`). fast: use the student's inference form.
        Further options (calibration, consider, threads, cache_dir, cuda_graph): see
        `lircdepth.inference.engines.EngineOptions`. The choice and its reason are in
        `backend` and `backend_reason`, and logged.
        """
        options = EngineOptions(device, backend, dtype, providers, **engine_options)
        choice = resolve_choice(options)
        loaded = load_network(path, fast=fast)
        runner = build_backend(loaded, choice, options)
        LOGGER.info(
            "inference engine %s %s on %s: %s", choice.backend, dtype, choice.device, choice.reason
        )
        return cls(runner, loaded.max_depth, loaded.arch, reason=choice.reason)

    @classmethod
    def from_onnx(
        cls, path: str | Path, providers: list[str] | None = None, fp16: bool = False
    ) -> DepthEstimator:
        """Load a model written by `lircdepth export` into ONNX Runtime."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {path}")
        runner = OnnxRuntimeBackend(path, providers=providers, fp16=fp16)
        max_depth = float(runner.metadata.get("max_depth", DEFAULT_MAX_DEPTH))
        return cls(runner, max_depth, runner.metadata.get("arch", STUDENT_ARCH))

    def estimate(
        self,
        image: np.ndarray,
        radar_points: np.ndarray | None = None,
        *,
        points_cam: np.ndarray | None = None,
        features: np.ndarray | None = None,
        camera_matrix: np.ndarray | None = None,
    ) -> DepthResult:
        """Depth for one H x W x 3 uint8 RGB image.

        Radar: `radar_points` N x 6 (u, v, depth, rcs, vx, vy) already projected into
        this image, or `points_cam` N x 3 camera-frame xyz with `features` N x 3
        (rcs, vx, vy) and the 3 x 3 `camera_matrix`.
        """
        points = preprocess.radar_points_from_inputs(
            radar_points, points_cam, features, camera_matrix
        )
        return self.estimate_batch([(image, points)])[0]

    def estimate_batch(self, frames: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[DepthResult]:
        """Depth for several (image, N x 6 radar points) frames, e.g. one per camera.

        Frames of the same size run as one batch. Each result carries the timings of the
        batch it ran in.
        """
        images = [preprocess.check_image(image) for image, _ in frames]
        points = [preprocess.radar_points_from_inputs(radar_points) for _, radar_points in frames]
        groups: dict[tuple[int, ...], list[int]] = {}  # (height, width) -> frames
        for index, image in enumerate(images):
            groups.setdefault(image.shape[:2], []).append(index)
        results: list[DepthResult | None] = [None] * len(frames)
        with self._lock:
            for (height, width), indices in groups.items():
                batch = [(images[i], points[i]) for i in indices]
                for index, result in zip(
                    indices, self._run_same_size(batch, height, width), strict=True
                ):
                    results[index] = result
        return cast("list[DepthResult]", results)  # every frame is in one group

    def _run_same_size(
        self, frames: list[tuple[np.ndarray, np.ndarray]], height: int, width: int
    ) -> list[DepthResult]:
        started = time.perf_counter()
        layout = preprocess.plan_layout(height, width)
        device = self.backend_impl.device
        image = preprocess.image_tensor([image for image, _ in frames], layout, device)
        radar = torch.stack([preprocess.radar_map(points, layout) for _, points in frames]).to(
            device, non_blocking=True
        )
        prepared = time.perf_counter()
        outputs = self.backend_impl.run(image, radar)
        computed = time.perf_counter()
        depths = outputs.depth.cpu().numpy()
        confidences = None if outputs.confidence is None else outputs.confidence.cpu().numpy()
        results = []
        for i in range(len(frames)):
            uncertainty = None
            if confidences is not None:
                uncertainty = preprocess.to_full_size(
                    1.0 - confidences[i], layout, fill_top=UNSEEN_UNCERTAINTY
                )
            results.append(DepthResult(preprocess.to_full_size(depths[i], layout), uncertainty))
        finished = time.perf_counter()
        timings = {
            "preprocess": prepared - started,
            "model": computed - prepared,
            "postprocess": finished - computed,
        }
        for result in results:
            result.timings = dict(timings)
        return results
