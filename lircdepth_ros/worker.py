"""The inference worker: one thread that takes the newest pair of every camera (batching.py),
turns each into model inputs (frame.py), runs the ready ones through the model in batches of
`batch.max_size` and publishes each camera's outputs.

Why a thread of its own: the callbacks only queue and pair, so a slow model never backs up
the executor; older pairs are dropped (counted) rather than queued. A pair may be put back
to wait for its CameraInfo (a player may send the image just before it) or its TF (often
trailing the data, as tf2's message filter allows).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sensor_msgs.msg import CameraInfo

from lircdepth_ros.batching import Job, PendingFrames
from lircdepth_ros.calibration import RadarToCamera
from lircdepth_ros.camera import CameraStream
from lircdepth_ros.conversions import MessageError
from lircdepth_ros.diagnostics import NodeStats
from lircdepth_ros.faults import FaultLog
from lircdepth_ros.frame import FrameInputs, frame_inputs
from lircdepth_ros.params import NodeConfig
from lircdepth_ros.tf_buffer import TransformError, stamp_to_seconds

TF_RETRY_SECONDS = 0.01
MAX_STAMP_AGE_SECONDS = 60.0
# How long the worker holds a pair while no CameraInfo has arrived yet.
CAMERA_INFO_WAIT_SECONDS = 1.0
# Estimator timings -> the node's stage names.
MODEL_STAGES = (("rasterise", "preprocess"), ("model", "model"), ("postprocess", "postprocess"))


@dataclass
class _Ready:
    """A converted pair waiting for its forward."""

    camera: CameraStream
    job: Job
    info: CameraInfo
    inputs: FrameInputs
    convert_seconds: float


@dataclass
class WorkerSettings:
    """What the worker reads of the node: its config (replaced at run time by `ros2 param
    set`), the depth range shown, and how to name topics and tell the time."""

    config: NodeConfig
    max_depth: float
    resolve: Callable[[str], str]  # a topic name as the graph shows it
    ros_seconds: Callable[[], float]  # the node's clock (sim time under use_sim_time)
    context_ok: Callable[[], bool]


class InferenceWorker:
    def __init__(
        self,
        cameras: list[CameraStream],
        frames: PendingFrames,
        estimator,
        extrinsics: RadarToCamera,
        faults: FaultLog,
        settings: WorkerSettings,
        rig_stats: NodeStats | None = None,
        count_streams: bool = False,
    ) -> None:
        """`rig_stats`: the node's counters, for the batch totals of a rig (None: the single
        camera's counters are the node's already); `count_streams`: count the radar points
        that fell in the image per radar stream."""
        self.cameras, self.frames, self.estimator = cameras, frames, estimator
        self.extrinsics, self.faults, self.settings = extrinsics, faults, settings
        self.rig_stats, self.count_streams = rig_stats, count_streams
        self._running = True
        self._thread = threading.Thread(target=self._work, name="lircdepth-inference", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self.frames.notify()
        self._thread.join(timeout=10)

    def _expected_cameras(self) -> list[int]:
        now = time.monotonic()
        return [camera.index for camera in self.cameras if camera.is_live(now)]

    def _work(self) -> None:
        while True:
            jobs = self.frames.take(
                self._expected_cameras,
                lambda: self.settings.config.batch_wait,
                TF_RETRY_SECONDS,
                lambda: self._running,
            )
            if jobs is None:
                return
            try:
                self._run_batch(jobs)
            except Exception as error:  # noqa: BLE001 - the worker must outlive any one batch
                if not (self._running and self.settings.context_ok()):
                    return  # Ctrl-C/SIGTERM during the forward: publishing failed, no fault
                self.faults.bad(
                    None, "bad.processing_errors", f"batch failed: {type(error).__name__}: {error}"
                )

    def _run_batch(self, jobs: list[Job]) -> None:
        """Convert every camera's pair, run the ready ones through the model in batches of
        `batch.max_size` (0: all at once), publish each camera's outputs."""
        started = time.perf_counter()
        config = self.settings.config
        if config.lazy:
            jobs = self._listened(jobs)
        ready = [r for r in (self._prepare(self.cameras[job.camera], job) for job in jobs) if r]
        if not ready:
            return
        size = config.batch_max_size or len(ready)
        totals: defaultdict[str, float] = defaultdict(
            float, convert=sum(r.convert_seconds for r in ready)
        )
        for first in range(0, len(ready), size):
            self._forward(ready[first : first + size], totals)
        if self.rig_stats is not None:
            for stage, seconds in totals.items():
                self.rig_stats.latency(stage, seconds)
            self.rig_stats.latency("batch", time.perf_counter() - started)
            self.rig_stats.count("batches")
            self.rig_stats.count("batched_frames", len(ready))

    def _listened(self, jobs: list[Job]) -> list[Job]:
        """The jobs of cameras someone listens to; the others are counted, not processed."""
        kept = []
        for job in jobs:
            camera = self.cameras[job.camera]
            if camera.has_subscribers():
                kept.append(job)
            else:
                camera.stats.count("skipped.no_subscriber")
        return kept

    def _prepare(self, camera: CameraStream, job: Job) -> _Ready | None:
        """The pair's model inputs; None when it is skipped (counted) or put back to wait for
        its CameraInfo or its TF."""
        info = camera.camera_info
        if info is None:
            self._wait_for_camera_info(camera, job)
            return None
        camera.waiting_info_since = None
        config = self.settings.config
        start = time.perf_counter()
        # TF past its newest stamp is extrapolated only once tf.wait is over (real data first).
        waited = job.tf_deadline is not None and time.monotonic() >= job.tf_deadline
        self.extrinsics.extrapolate_forward(waited)
        try:
            inputs = frame_inputs(
                job.image,
                info,
                job.sweeps,
                self.extrinsics,
                config.radar_fields,
                config.camera_frame,
                config.radar_frame,
            )
        except MessageError as error:
            self._skip(camera, f"rejected.{error.kind}", str(error))
            return None
        except TransformError as error:
            self._wait_for_tf(camera, job, waited, error)
            return None
        convert = time.perf_counter() - start
        camera.stats.latency("convert", convert)
        self._count_inputs(camera, job, inputs)
        return _Ready(camera, job, info, inputs, convert)

    def _wait_for_camera_info(self, camera: CameraStream, job: Job) -> None:
        # Since the first pair that found none: at camera rate each pair is superseded
        # long before it has waited 1 s itself, and the absence must still be counted.
        since = camera.waiting_info_since = camera.waiting_info_since or job.queued
        waited = time.monotonic() - since
        if waited < CAMERA_INFO_WAIT_SECONDS:
            if not self.frames.put_back(job):
                camera.stats.count("dropped.superseded_pairs")
        else:
            topic = self.settings.resolve(camera.topics.camera_info)
            self._skip(
                camera,
                "rejected.camera_info.missing",
                f"no CameraInfo on {topic} for {waited:.1f} s: pair skipped",
            )

    def _wait_for_tf(self, camera: CameraStream, job: Job, waited: bool, error) -> None:
        now = time.monotonic()
        if job.tf_deadline is None:
            job.tf_deadline = now + self.settings.config.tf_wait
        if (now >= job.tf_deadline and waited) or not self._running:
            self._skip(camera, "tf_failures", f"pair skipped, no extrinsic: {error}")
        elif self.frames.put_back(job):
            camera.stats.count("tf_waits")
        else:  # a newer pair of this camera is waiting: this one is superseded, not a TF fault
            camera.stats.count("dropped.superseded_pairs")

    def _count_inputs(self, camera: CameraStream, job: Job, inputs: FrameInputs) -> None:
        if inputs.non_finite_points:
            camera.stats.count("bad.radar_non_finite_points", inputs.non_finite_points)
        if not job.sweeps:
            camera.stats.count("degraded.camera_only_frames")
        elif len(inputs.radar_points) == 0:
            self.faults.bad(
                camera, "bad.radar_empty", "radar sweep has no points: depth from the image alone"
            )
        if self.count_streams:
            for stream, count in zip(job.streams, inputs.points_in_image, strict=True):
                camera.stats.count(f"radar_points.{stream}", count)

    def _skip(self, camera: CameraStream, key: str, text: str) -> None:
        """A pair skipped for this camera: counted, and its status says so until it publishes."""
        camera.failing = f"frames skipped [{key}]: {text}"
        self.faults.bad(camera, key, text)

    def _forward(self, chunk: list[_Ready], totals: defaultdict[str, float]) -> None:
        """One estimate_batch over `chunk` (cameras of one size share a forward), then publish."""
        results = self.estimator.estimate_batch(
            [(ready.inputs.image, ready.inputs.radar_points) for ready in chunk]
        )
        sizes_seen = set()
        for ready, result in zip(chunk, results, strict=True):
            camera = ready.camera
            size = ready.inputs.image.shape[:2]
            for stage, key in MODEL_STAGES:
                if key in result.timings:
                    camera.stats.latency(stage, result.timings[key])
                    if size not in sizes_seen:  # each forward's time once
                        totals[stage] += result.timings[key]
            sizes_seen.add(size)
            totals["publish"] += self._publish(ready, result)

    def _publish(self, ready: _Ready, result) -> float:
        """Publish one camera's outputs; the seconds it took."""
        camera, settings = ready.camera, self.settings
        start = time.perf_counter()
        camera.publish(
            ready.job.image.header,
            ready.info,
            ready.inputs.camera_matrix,
            result,
            settings.config,
            settings.max_depth,
        )
        published = time.perf_counter() - start
        camera.stats.latency("publish", published)
        stamp_age = settings.ros_seconds() - stamp_to_seconds(ready.job.image.header.stamp)
        if 0.0 <= stamp_age < MAX_STAMP_AGE_SECONDS:  # a bag replayed without /clock has old stamps
            camera.stats.latency("end_to_end", stamp_age)
        camera.stats.count("published")
        camera.failing = None
        return published
