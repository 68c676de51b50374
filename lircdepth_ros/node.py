"""`lircdepth_node`: camera image + radar cloud -> metric depth image.

Callbacks only queue messages and pair them (approximate time: the project's sync, or
message_filters' with `sync.method: message_filters`); one worker thread runs the model
on the newest pair, dropping (and counting) older ones, so a slow model never backs up
the executor. With `cameras` (a surround rig) every camera pairs with every radar on its
own, and the worker runs the newest pair of each ready camera in one batched forward. Malformed input is logged (throttled), counted and skipped. Timers run on
a steady clock, so diagnostics go on with use_sim_time and no /clock.

Start without `launch`:  lircdepth_node --config config/lircdepth.yaml -p checkpoint:=student.pt
or the ROS way:          ros2 run lircdepth_ros lircdepth_node --ros-args -p checkpoint:=student.pt
(the shipped YAML comes first, so every `--ros-args -p` and `--params-file` wins over it).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import QoSMessageLostInfo, SubscriptionEventCallbacks
from rclpy.exceptions import InvalidTopicNameException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from lircdepth.resources import shipped_file
from lircdepth_ros.batching import Job, PendingFrames
from lircdepth_ros.calibration import RadarToCamera
from lircdepth_ros.camera import CameraStream
from lircdepth_ros.conversions import MessageError, camera_matrix_from_info, check_colour_image
from lircdepth_ros.diagnostics import KindThrottle, NodeStats, diagnostic_array, summary_line
from lircdepth_ros.frame import FrameInputs, frame_inputs
from lircdepth_ros.mf_sync import MessageFiltersPairing
from lircdepth_ros.params import (
    PARAMETERS,
    ParameterError,
    check_override,
    config_from_values,
    declare_parameters,
    parameter_values,
    quote_string_overrides,
)
from lircdepth_ros.radar import check_radar_cloud
from lircdepth_ros.rig import rig_layout
from lircdepth_ros.status_report import TRANSPORT_HINT, StatusReport
from lircdepth_ros.sync import RigSync
from lircdepth_ros.tf_buffer import (
    Tf2RosTransforms,
    TransformError,
    make_transform_source,
    stamp_to_seconds,
)

NODE_NAME = "lircdepth_node"
TF_RETRY_SECONDS = 0.01
MAX_STAMP_AGE_SECONDS = 60.0
LOG_THROTTLE_SECONDS = 5.0
# One INFO summary line per this many diagnostics periods.
LOG_EVERY_PERIODS = 10
# Shortest period of the timer that decides images which waited sync.max_wait.
MIN_EXPIRE_PERIOD = 0.01
# How long the worker holds a pair while no CameraInfo has arrived yet.
CAMERA_INFO_WAIT_SECONDS = 1.0
# Estimator timings -> the node's stage names.
MODEL_STAGES = (("rasterise", "preprocess"), ("model", "model"), ("postprocess", "postprocess"))


class StartupError(RuntimeError):
    """The node cannot start (bad parameter, missing checkpoint); the text says why."""


@dataclass
class _Ready:
    """A converted pair waiting for its forward."""

    camera: CameraStream
    job: Job
    info: CameraInfo
    inputs: FrameInputs
    convert_seconds: float


class DepthNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        try:
            self._values = declare_parameters(self)
            self.config = config_from_values(self._values)
        except ParameterError as error:
            raise StartupError(str(error)) from error
        self.estimator = self._load_estimator()
        config = self.config
        self.layout = rig_layout(config.cameras, config.radars, config.topics)
        self.max_depth = config.max_depth or self.estimator.max_depth
        self.stats = NodeStats()
        self._log_gate = KindThrottle(LOG_THROTTLE_SECONDS)
        self._radar_streams = tuple(radar.stream for radar in self.layout.radars)
        self._recent_radar = {
            stream: deque(maxlen=config.sync_queue_size + config.radar_sweeps)
            for stream in self._radar_streams
        }
        self._frames = PendingFrames(len(self.layout.cameras))
        self._running = True
        self._periods = 0

        transforms = (
            make_transform_source(self, config.tf_cache_time, self._tf_bad)
            if config.tf_enabled
            else None
        )
        self.extrinsics = RadarToCamera(transforms, config.fixed_frame, config.extrinsic)
        qos_in = self._input_qos(config.qos_depth)
        # Radar clouds are small: keep as many as the pairing may hold, so a burst (a
        # lockstep player, an executor busy with six cameras) loses no sweep in the reader.
        qos_radar = self._input_qos(max(config.qos_depth, config.sync_queue_size))
        self._qos_out = QoSProfile(depth=config.qos_depth)
        try:
            self.cameras = [
                self._camera(index, topics, qos_in)
                for index, topics in enumerate(self.layout.cameras)
            ]
            for radar in self.layout.radars:
                self._subscribe(
                    PointCloud2,
                    radar.topic,
                    lambda msg, stream=radar.stream: self._on_radar(stream, msg),
                    self.stats,
                    radar.stream,
                    qos_radar,
                )
        except InvalidTopicNameException as error:
            raise StartupError(f"parameters 'topics.*' give an invalid topic: {error}") from error
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._status_report = StatusReport(
            self.get_name(),
            self.layout,
            self.stats,
            self.cameras,
            self.resolve_topic_name,
            {
                "backend": self.estimator.backend_name,
                "backend_reason": self.estimator.backend_reason,
                "device": str(self.estimator.device),
            },
        )
        # Steady, not ROS time: with use_sim_time and no /clock a ROS-time timer never fires.
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._timers_running: list = []
        self._start_timers()
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self._worker = threading.Thread(target=self._work, name="lircdepth-inference", daemon=True)
        self._worker.start()
        tf_source = "tf2_ros" if isinstance(transforms, Tf2RosTransforms) else "project buffer"
        self.get_logger().info(
            f"ready: {config.checkpoint.name} on {self.estimator.device} ({self.estimator.backend_name}: {self.estimator.backend_reason}); "
            f"inputs {self._inputs_text()}; "
            f"QoS {'best effort' if config.qos_sensor_data else 'reliable'}, depth "
            f"{qos_in.depth} (radar {qos_radar.depth}); "
            f"sync {config.sync_method}; TF {tf_source if transforms else 'off'}; "
            f"FASTDDS_DEFAULT_PROFILES_FILE={os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE', '(unset)')}"
        )

    def _inputs_text(self) -> str:
        radars = ", ".join(self.resolve_topic_name(radar.topic) for radar in self.layout.radars)
        if not self.layout.is_rig:
            return f"{self.resolve_topic_name('image')}, {radars}"
        images = ", ".join(self.resolve_topic_name(c.topics.image) for c in self.cameras)
        return f"{len(self.cameras)} cameras ({images}), radars {radars}"

    def _camera(self, index: int, topics, qos_in: QoSProfile) -> CameraStream:
        """One camera: its own counters in a rig (the node's for the single camera)."""
        stats = NodeStats() if topics.name else self.stats
        camera = CameraStream(index, topics, stats, self._pairing(index), self, self._qos_out)
        self._subscribe(
            Image, topics.image, lambda msg: self._on_image(camera, msg), stats, "image", qos_in
        )
        self._subscribe(
            CameraInfo,
            topics.camera_info,
            lambda msg: self._on_camera_info(camera, msg),
            stats,
            "camera_info",
            qos_in,
        )
        camera.create_enabled_publishers(self.config.publish_points, self.config.publish_colored)
        return camera

    def _pairing(self, index: int):
        config = self.config
        if config.sync_method == "message_filters":
            try:
                return MessageFiltersPairing(
                    config.sync_slop,
                    config.sync_queue_size,
                    lambda pairs: self._queue_pairs(self.cameras[index], pairs),
                    self._radar_streams,
                )
            except ImportError as error:
                raise StartupError(str(error)) from error
        return RigSync(
            config.sync_slop,
            config.sync_queue_size,
            config.sync_max_wait,
            radars=self._radar_streams,
        )

    def _subscribe(
        self, msg_type, topic: str, callback, stats: NodeStats, stream: str, qos
    ) -> None:
        self.create_subscription(
            msg_type,
            topic,
            callback,
            qos,
            event_callbacks=SubscriptionEventCallbacks(
                message_lost=lambda info: self._on_lost(stats, stream, topic, info)
            ),
        )

    def _start_timers(self) -> None:
        for timer in self._timers_running:
            self.destroy_timer(timer)
        config = self.config
        self._timers_running = [
            self.create_timer(config.diagnostics_period, self._report, clock=self._steady)
        ]
        if config.sync_method == "project":
            period = max(config.sync_max_wait / 2, MIN_EXPIRE_PERIOD)
            self._timers_running.append(self.create_timer(period, self._expire, clock=self._steady))

    # --- run-time parameters (the DYNAMIC ones; rclpy refuses the read-only ones) ---------

    def _check_parameters(self, parameters: list) -> SetParametersResult:
        """Validate the whole set as start-up does (rclpy has checked the ranges already)."""
        try:
            config_from_values({**self._values, **parameter_values(parameters)})
        except ParameterError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters: list) -> None:
        self._values.update(parameter_values(parameters))
        old, self.config = self.config, config_from_values(self._values)
        config = self.config
        self.max_depth = config.max_depth or self.estimator.max_depth
        for camera in self.cameras:
            if isinstance(camera.pairing, RigSync):
                camera.pairing.configure(
                    config.sync_slop, config.sync_queue_size, config.sync_max_wait
                )
            else:
                camera.pairing.configure(config.sync_slop, config.sync_queue_size)
            camera.create_enabled_publishers(config.publish_points, config.publish_colored)
        self._recent_radar = {
            stream: deque(sweeps, maxlen=config.sync_queue_size + config.radar_sweeps)
            for stream, sweeps in self._recent_radar.items()
        }
        periods = ("diagnostics_period", "sync_max_wait")
        if any(getattr(old, name) != getattr(config, name) for name in periods):
            self._start_timers()

    def _load_estimator(self):
        from lircdepth.inference import DepthEstimator

        try:
            return DepthEstimator.from_checkpoint(
                self.config.checkpoint, device=self.config.device, backend=self.config.backend
            )
        except (FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
            raise StartupError(
                f"cannot load checkpoint {self.config.checkpoint}: {error}"
            ) from error

    def _input_qos(self, depth: int) -> QoSProfile:
        if self.config.qos_sensor_data:
            profile = QoSProfile(
                **{
                    k: getattr(qos_profile_sensor_data, k)
                    for k in ("history", "reliability", "durability")
                },
                depth=depth,
            )
        else:
            profile = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)
        return profile

    # --- callbacks: cheap, never raise ---------------------------------------------------

    def _on_camera_info(self, camera: CameraStream, msg: CameraInfo) -> None:
        camera.stats.received("camera_info")
        if not self._accept(camera, camera_matrix_from_info, msg):
            return  # the last valid CameraInfo stays in use
        camera.camera_info = msg
        self._frames.notify()

    def _on_image(self, camera: CameraStream, msg: Image) -> None:
        camera.stats.received("image")
        if self._accept(camera, check_colour_image, msg, self.config.max_image_pixels):
            camera.last_image = time.monotonic()
            self._pair(camera, None, msg)

    def _on_radar(self, stream: str, msg: PointCloud2) -> None:
        self.stats.received(stream)
        config = self.config
        if not self._accept(
            None, check_radar_cloud, msg, config.radar_fields, config.max_radar_points
        ):
            return
        self._recent_radar[stream].append(msg)
        for camera in self.cameras:
            self._pair(camera, stream, msg)

    def _pair(self, camera: CameraStream, radar_stream: str | None, msg) -> None:
        """Feed an image (radar_stream None) or a sweep to the camera's pairing."""
        if not isinstance(camera.pairing, RigSync):  # message_filters calls _queue_pairs itself
            camera.pairing.add(radar_stream or "image", msg)
            return
        stamp = stamp_to_seconds(msg.header.stamp)
        if radar_stream is None:
            pairs = camera.pairing.add_image(stamp, msg)
        else:
            pairs = camera.pairing.add_sweep(radar_stream, stamp, msg)
        self._queue_pairs(camera, pairs)

    def _on_lost(self, stats: NodeStats, stream: str, topic: str, info: QoSMessageLostInfo) -> None:
        """The middleware lost samples (best effort): large images without shared memory."""
        stats.count(f"dropped.transport_lost.{stream}", info.total_count_change)
        self.get_logger().warning(
            f"{info.total_count} {stream} messages lost in transport on "
            f"{self.resolve_topic_name(topic)}; {TRANSPORT_HINT}",
            throttle_duration_sec=LOG_THROTTLE_SECONDS,
        )

    def _expire(self) -> None:
        for camera in self.cameras:
            if isinstance(camera.pairing, RigSync):
                self._queue_pairs(camera, camera.pairing.expire())

    def _tf_bad(self, text: str) -> None:
        self._bad(None, "bad.tf_message", text)

    def _accept(self, camera: CameraStream | None, check, *args) -> bool:
        """Run a header-only validator: a malformed or oversized message is counted by kind
        and dropped here, before it is queued or anything the size of its claim is allocated."""
        try:
            check(*args)
        except MessageError as error:
            self._bad(camera, f"rejected.{error.kind}", str(error))
            return False
        return True

    def _bad(self, camera: CameraStream | None, key: str, text: str) -> None:
        """Count a fault under `key` (the camera's, else the node's); log the first of each
        kind, then once per throttle period."""
        named = camera is not None and camera.name
        (camera.stats if camera is not None else self.stats).count(key)
        suppressed = self._log_gate.admit(f"{camera.name}:{key}" if named else key)
        if suppressed is not None:
            more = f" (and {suppressed} more since the last report)" if suppressed else ""
            where = f"{camera.name}: " if named else ""
            self.get_logger().warning(f"[{key}] {where}{text}{more}")

    def _queue_pairs(self, camera: CameraStream, pairs: list) -> None:
        if not pairs:
            return
        camera.stats.count("pairs", len(pairs))
        image, sweeps = pairs[-1]
        streams, clouds = [], []
        for stream, sweep in sweeps.items():
            for cloud in self._sweeps_up_to(stream, sweep):
                streams.append(stream)
                clouds.append(cloud)
        job = Job(camera.index, image, clouds, time.monotonic(), streams=streams)
        dropped = len(pairs) - 1 + self._frames.put(job)
        if dropped:
            camera.stats.count("dropped.superseded_pairs", dropped)

    def _sweeps_up_to(self, stream: str, radar: PointCloud2) -> list[PointCloud2]:
        """The paired sweep and up to radar.sweeps - 1 sweeps of its radar before it (oldest first)."""
        stamp = stamp_to_seconds(radar.header.stamp)
        recent = list(self._recent_radar[stream])
        earlier = [m for m in recent if stamp_to_seconds(m.header.stamp) < stamp]
        return (
            [*earlier[len(earlier) - self.config.radar_sweeps + 1 :], radar]
            if self.config.radar_sweeps > 1
            else [radar]
        )

    # --- worker ----------------------------------------------------------------------------

    def _expected_cameras(self) -> list[int]:
        now = time.monotonic()
        return [camera.index for camera in self.cameras if camera.is_live(now)]

    def _work(self) -> None:
        while True:
            jobs = self._frames.take(
                self._expected_cameras,
                lambda: self.config.batch_wait,
                TF_RETRY_SECONDS,
                lambda: self._running,
            )
            if jobs is None:
                return
            try:
                self._run_batch(jobs)
            except Exception as error:  # noqa: BLE001 - the worker must outlive any one batch
                self._bad(
                    None, "bad.processing_errors", f"batch failed: {type(error).__name__}: {error}"
                )

    def _run_batch(self, jobs: list[Job]) -> None:
        """Convert every camera's pair, run the ready ones through the model in batches of
        `batch.max_size` (0: all at once), publish each camera's outputs."""
        started = time.perf_counter()
        ready = [r for r in (self._prepare(self.cameras[job.camera], job) for job in jobs) if r]
        if not ready:
            return
        size = self.config.batch_max_size or len(ready)
        totals: Counter[str] = Counter(convert=sum(r.convert_seconds for r in ready))
        for first in range(0, len(ready), size):
            self._forward(ready[first : first + size], totals)
        if self.layout.is_rig:  # the single camera's stats are the node's already
            for stage, seconds in totals.items():
                self.stats.latency(stage, seconds)
            self.stats.latency("batch", time.perf_counter() - started)
            self.stats.count("batches")
            self.stats.count("batched_frames", len(ready))

    def _prepare(self, camera: CameraStream, job: Job) -> _Ready | None:
        """The pair's model inputs; None when it is skipped (counted) or put back to wait for
        its CameraInfo (a player may send the image just before it) or its TF (often
        trailing the data, as tf2's message filter allows)."""
        info = camera.camera_info
        if info is None:
            if time.monotonic() - job.queued < CAMERA_INFO_WAIT_SECONDS:
                if not self._frames.put_back(job):
                    camera.stats.count("dropped.superseded_pairs")
            else:
                self._skip(
                    camera,
                    "rejected.camera_info.missing",
                    "CameraInfo not received yet: pair skipped",
                )
            return None
        start = time.perf_counter()
        try:
            inputs = frame_inputs(
                job.image,
                info,
                job.sweeps,
                self.extrinsics,
                self.config.radar_fields,
                self.config.camera_frame,
                self.config.radar_frame,
            )
        except MessageError as error:
            self._skip(camera, f"rejected.{error.kind}", str(error))
            return None
        except TransformError as error:
            now = time.monotonic()
            if job.tf_deadline is None:
                job.tf_deadline = now + self.config.tf_wait
            if now >= job.tf_deadline or not self._running:
                self._skip(camera, "tf_failures", f"pair skipped, no extrinsic: {error}")
            elif self._frames.put_back(job):
                camera.stats.count("tf_waits")
            else:  # a newer pair of this camera is waiting: this one is superseded, not a TF fault
                camera.stats.count("dropped.superseded_pairs")
            return None
        convert = time.perf_counter() - start
        camera.stats.latency("convert", convert)
        if inputs.non_finite_points:
            camera.stats.count("bad.radar_non_finite_points", inputs.non_finite_points)
        if len(inputs.radar_points) == 0:
            self._bad(
                camera, "bad.radar_empty", "radar sweep has no points: depth from the image alone"
            )
        if self.layout.is_rig or len(self._radar_streams) > 1:
            for stream, count in zip(job.streams, inputs.points_in_image, strict=True):
                camera.stats.count(f"radar_points.{stream}", count)
        return _Ready(camera, job, info, inputs, convert)

    def _skip(self, camera: CameraStream, key: str, text: str) -> None:
        """A pair skipped for this camera: counted, and its status says so until it publishes."""
        camera.failing = f"frames skipped [{key}]: {text}"
        self._bad(camera, key, text)

    def _forward(self, chunk: list[_Ready], totals: Counter) -> None:
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
            start = time.perf_counter()
            camera.publish(
                ready.job.image.header,
                ready.info,
                ready.inputs.camera_matrix,
                result,
                self.config,
                self.max_depth,
            )
            published = time.perf_counter() - start
            camera.stats.latency("publish", published)
            totals["publish"] += published
            now = self.get_clock().now().nanoseconds * 1e-9
            stamp_age = now - stamp_to_seconds(ready.job.image.header.stamp)
            if (
                0.0 <= stamp_age < MAX_STAMP_AGE_SECONDS
            ):  # a bag replayed without /clock has old stamps
                camera.stats.latency("end_to_end", stamp_age)
            camera.stats.count("published")
            camera.failing = None

    # --- diagnostics -------------------------------------------------------------------------

    def _report(self) -> None:
        report = self._status_report.build(self.config.no_input_warning)
        if report.warnings:
            self.get_logger().warning(
                "; ".join(report.warnings),
                throttle_duration_sec=max(LOG_THROTTLE_SECONDS, self.config.no_input_warning),
            )
        stamp = self.get_clock().now().to_msg()
        self.pub_diagnostics.publish(diagnostic_array(report.statuses, stamp))
        self._periods += 1
        if self._periods % LOG_EVERY_PERIODS == 0:
            self.get_logger().info(summary_line(report.values))

    def stop(self) -> None:
        self._running = False
        self._frames.notify()
        self._worker.join(timeout=10)


def default_params_file() -> Path | None:
    """config/lircdepth.yaml from the installed share folder, else from the source tree."""
    return shipped_file("config/lircdepth.yaml")


def default_fastdds_profile() -> Path | None:
    return shipped_file("config/fastdds_shm.xml")


def build_ros_args(argv: list[str]) -> tuple[list[str], argparse.Namespace]:
    """Turn the convenience flags into ROS arguments; the shipped YAML is the default."""
    parser = argparse.ArgumentParser(
        prog="lircdepth_node", description=__doc__.splitlines()[0], add_help=True
    )
    parser.add_argument(
        "--config", type=Path, help="parameters YAML (default: the shipped config/lircdepth.yaml)"
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME:=VALUE",
        help="override one parameter",
    )
    parser.add_argument(
        "--default-transports",
        action="store_true",
        help="do not apply the shipped Fast DDS shared-memory profile when FASTDDS_DEFAULT_PROFILES_FILE is unset",
    )
    split = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    ros_args = argv[split:]
    if args.config is not None and not args.config.is_file():
        parser.error(f"--config: file not found: {args.config}")
    ros_overrides = [
        value
        for flag, value in zip(ros_args, ros_args[1:], strict=False)
        if flag in ("-p", "--param") and value.partition(":=")[0] in PARAMETERS
    ]
    for assignment in [*args.param, *ros_overrides]:
        try:
            check_override(assignment)
        except ParameterError as error:
            print(f"lircdepth_node: error: {error}", file=sys.stderr)
            raise SystemExit(2) from error
    params_file = args.config or (None if "--params-file" in ros_args else default_params_file())
    first = (["--params-file", str(params_file)] if params_file else []) + [
        x for p in args.param for x in ("-p", p)
    ]
    # rcl applies parameter files and -p overrides in order, the last one wins: the
    # defaults go first so the user's --ros-args always win over them.
    if first or ros_args:
        ros_args = ["--ros-args", *first, *ros_args[1:]]
    return quote_string_overrides(ros_args), args


def _rcl_error_text(error: Exception) -> str:
    """rcl's message without its "failed to initialize" prefix and source location."""
    text = str(error).removeprefix("failed to initialize rcl: ")
    return text.split(". Error:", 1)[0].split(", at /", 1)[0]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args, args = build_ros_args(argv)
    profile = default_fastdds_profile()
    if (
        not args.default_transports
        and profile
        and "FASTDDS_DEFAULT_PROFILES_FILE" not in os.environ
    ):
        os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)
    try:
        rclpy.init(args=[sys.argv[0], *ros_args])
    except RuntimeError as error:  # rcl could not parse the ROS arguments
        print(f"lircdepth_node: error: {_rcl_error_text(error)}", file=sys.stderr)
        return 2
    node = None
    try:
        node = DepthNode()
        rclpy.spin(node)
    except StartupError as error:
        print(f"lircdepth_node: error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        if rclpy.ok():
            raise
        # Ctrl-C during start-up: rclpy shut the context down under the constructor.
    finally:
        if node is not None:
            node.stop()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
