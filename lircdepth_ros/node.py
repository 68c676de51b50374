"""`lircdepth_node`: camera image + radar cloud -> metric depth image.

Callbacks only queue messages and pair them (approximate time: the project's sync, or
message_filters' with `sync.method: message_filters`); one worker thread runs the model
on the newest pair, dropping (and counting) older ones, so a slow model never backs up
the executor. Malformed input is logged (throttled), counted and skipped. Timers run on
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
from collections import deque
from dataclasses import asdict
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import QoSMessageLostInfo, SubscriptionEventCallbacks
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from lircdepth.resources import shipped_file
from lircdepth_ros import outputs
from lircdepth_ros.calibration import RadarToCamera
from lircdepth_ros.conversions import MessageError, camera_matrix_from_info, check_colour_image
from lircdepth_ros.diagnostics import KindThrottle, NodeStats, diagnostic_array, summary_line
from lircdepth_ros.frame import frame_inputs
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
from lircdepth_ros.sync import ApproximateTimeSync
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
TRANSPORT_HINT = (
    "camera-size images need the Fast DDS shared-memory profile "
    "FASTDDS_DEFAULT_PROFILES_FILE=config/fastdds_shm.xml"
)


class StartupError(RuntimeError):
    """The node cannot start (bad parameter, missing checkpoint); the text says why."""


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
        self.max_depth = config.max_depth or self.estimator.max_depth
        self.stats = NodeStats()
        self._log_gate = KindThrottle(LOG_THROTTLE_SECONDS)
        self.sync, self.pairing = None, None
        if config.sync_method == "message_filters":
            try:
                self.pairing = MessageFiltersPairing(
                    config.sync_slop, config.sync_queue_size, self._queue_pairs
                )
            except ImportError as error:
                raise StartupError(str(error)) from error
        else:
            self.sync = ApproximateTimeSync(
                config.sync_slop, config.sync_queue_size, config.sync_max_wait
            )
        self._recent_radar: deque[PointCloud2] = deque(
            maxlen=config.sync_queue_size + config.radar_sweeps
        )
        self._camera_info: CameraInfo | None = None
        self._pending = None
        self._wake = threading.Condition()
        self._running = True
        self._started = time.monotonic()
        self._periods = 0

        transforms = (
            make_transform_source(self, config.tf_cache_time, self._tf_bad)
            if config.tf_enabled
            else None
        )
        self.extrinsics = RadarToCamera(transforms, config.fixed_frame, config.extrinsic)
        qos_in = self._input_qos()
        for msg_type, topic, callback in (
            (Image, "image", self._on_image),
            (CameraInfo, "camera_info", self._on_camera_info),
            (PointCloud2, "radar", self._on_radar),
        ):
            self.create_subscription(
                msg_type,
                topic,
                callback,
                qos_in,
                event_callbacks=SubscriptionEventCallbacks(
                    message_lost=lambda info, stream=topic: self._on_lost(stream, info)
                ),
            )
        self._qos_out = QoSProfile(depth=config.qos_depth)
        self.pub_depth = self.create_publisher(Image, "depth", self._qos_out)
        self.pub_info = self.create_publisher(CameraInfo, "depth/camera_info", self._qos_out)
        self.pub_uncertainty = self.create_publisher(Image, "depth/uncertainty", self._qos_out)
        self.pub_points = self.pub_colored = None
        self._create_enabled_publishers()
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
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
            f"inputs {self.resolve_topic_name('image')}, {self.resolve_topic_name('radar')}; "
            f"sync {config.sync_method}; TF {tf_source if transforms else 'off'}; "
            f"FASTDDS_DEFAULT_PROFILES_FILE={os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE', '(unset)')}"
        )

    def _create_enabled_publishers(self) -> None:
        """Optional outputs appear when first enabled (at start-up or by `ros2 param set`)."""
        if self.config.publish_points and self.pub_points is None:
            self.pub_points = self.create_publisher(PointCloud2, "depth/points", self._qos_out)
        if self.config.publish_colored and self.pub_colored is None:
            self.pub_colored = self.create_publisher(Image, "depth/colored", self._qos_out)

    def _start_timers(self) -> None:
        for timer in self._timers_running:
            self.destroy_timer(timer)
        config = self.config
        self._timers_running = [
            self.create_timer(config.diagnostics_period, self._report, clock=self._steady)
        ]
        if self.sync is not None:
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
        if self.sync is not None:
            self.sync.configure(config.sync_slop, config.sync_queue_size, config.sync_max_wait)
        else:
            self.pairing.configure(config.sync_slop, config.sync_queue_size)
        self._recent_radar = deque(
            self._recent_radar, maxlen=config.sync_queue_size + config.radar_sweeps
        )
        self._create_enabled_publishers()
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

    def _input_qos(self) -> QoSProfile:
        if self.config.qos_sensor_data:
            profile = QoSProfile(
                **{
                    k: getattr(qos_profile_sensor_data, k)
                    for k in ("history", "reliability", "durability")
                },
                depth=self.config.qos_depth,
            )
        else:
            profile = QoSProfile(
                depth=self.config.qos_depth, reliability=ReliabilityPolicy.RELIABLE
            )
        return profile

    # --- callbacks: cheap, never raise ---------------------------------------------------

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.stats.received("camera_info")
        if not self._accept(camera_matrix_from_info, msg):
            return  # the last valid CameraInfo stays in use
        with self._wake:
            self._camera_info = msg
            self._wake.notify()

    def _on_image(self, msg: Image) -> None:
        self.stats.received("image")
        if self._accept(check_colour_image, msg, self.config.max_image_pixels):
            self._pair("image", msg)

    def _on_radar(self, msg: PointCloud2) -> None:
        self.stats.received("radar")
        config = self.config
        if not self._accept(check_radar_cloud, msg, config.radar_fields, config.max_radar_points):
            return
        self._recent_radar.append(msg)
        self._pair("radar", msg)

    def _pair(self, stream: str, msg) -> None:
        if self.pairing is not None:  # message_filters calls _queue_pairs itself
            self.pairing.add(stream, msg)
            return
        add = self.sync.add_image if stream == "image" else self.sync.add_radar
        self._queue_pairs(add(stamp_to_seconds(msg.header.stamp), msg))

    def _on_lost(self, stream: str, info: QoSMessageLostInfo) -> None:
        """The middleware lost samples (best effort): large images without shared memory."""
        self.stats.count(f"dropped.transport_lost.{stream}", info.total_count_change)
        self.get_logger().warning(
            f"{info.total_count} {stream} messages lost in transport on "
            f"{self.resolve_topic_name(stream)}; {TRANSPORT_HINT}",
            throttle_duration_sec=LOG_THROTTLE_SECONDS,
        )

    def _expire(self) -> None:
        if self.sync is not None:
            self._queue_pairs(self.sync.expire())

    def _tf_bad(self, text: str) -> None:
        self._bad("bad.tf_message", text)

    def _accept(self, check, *args) -> bool:
        """Run a header-only validator: a malformed or oversized message is counted by kind
        and dropped here, before it is queued or anything the size of its claim is allocated."""
        try:
            check(*args)
        except MessageError as error:
            self._bad(f"rejected.{error.kind}", str(error))
            return False
        return True

    def _bad(self, key: str, text: str) -> None:
        """Count a fault under `key`; log the first of each kind, then once per throttle period."""
        self.stats.count(key)
        suppressed = self._log_gate.admit(key)
        if suppressed is not None:
            more = f" (and {suppressed} more since the last report)" if suppressed else ""
            self.get_logger().warning(f"[{key}] {text}{more}")

    def _queue_pairs(self, pairs: list) -> None:
        if not pairs:
            return
        self.stats.count("pairs", len(pairs))
        with self._wake:
            dropped = len(pairs) - 1 + (self._pending is not None)
            if dropped:
                self.stats.count("dropped.superseded_pairs", dropped)
            image, radar = pairs[-1]
            self._pending = (image, self._sweeps_up_to(radar))
            self._wake.notify()

    def _sweeps_up_to(self, radar: PointCloud2) -> list[PointCloud2]:
        """The paired sweep and up to radar.sweeps - 1 sweeps before it (oldest first)."""
        stamp = stamp_to_seconds(radar.header.stamp)
        earlier = [m for m in list(self._recent_radar) if stamp_to_seconds(m.header.stamp) < stamp]
        return (
            [*earlier[len(earlier) - self.config.radar_sweeps + 1 :], radar]
            if self.config.radar_sweeps > 1
            else [radar]
        )

    # --- worker ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and self._running:
                    self._wake.wait()
                if not self._running:
                    return
                # A player may send the image just before its CameraInfo: give it a moment.
                self._wake.wait_for(
                    lambda: self._camera_info is not None or not self._running,
                    CAMERA_INFO_WAIT_SECONDS,
                )
                job, self._pending = self._pending, None
                info = self._camera_info
            try:
                self._process_when_tf_arrives(job, info)
            except MessageError as error:
                self._bad(f"rejected.{error.kind}", str(error))
            except TransformError as error:
                self._bad("tf_failures", f"pair skipped, no extrinsic: {error}")
            except Exception as error:  # noqa: BLE001 - the worker must outlive any one frame
                self._bad("bad.processing_errors", f"frame failed: {type(error).__name__}: {error}")

    def _process_when_tf_arrives(self, job: tuple, info: CameraInfo | None) -> None:
        """Retry a pair whose transforms are not in the buffer yet (TF often trails the data,
        as tf2's message filter allows) until `tf.wait` passes or a newer pair is pending."""
        deadline = time.monotonic() + self.config.tf_wait
        while True:
            try:
                return self._process(*job, info)
            except TransformError:
                if time.monotonic() >= deadline or self._pending is not None or not self._running:
                    raise
                self.stats.count("tf_waits")
                time.sleep(TF_RETRY_SECONDS)

    def _process(self, image: Image, sweeps: list[PointCloud2], info: CameraInfo | None) -> None:
        if info is None:
            raise MessageError("CameraInfo not received yet: pair skipped", "camera_info.missing")
        start = time.perf_counter()
        inputs = frame_inputs(
            image,
            info,
            sweeps,
            self.extrinsics,
            self.config.radar_fields,
            self.config.camera_frame,
            self.config.radar_frame,
        )
        self.stats.latency("convert", time.perf_counter() - start)
        if inputs.non_finite_points:
            self.stats.count("bad.radar_non_finite_points", inputs.non_finite_points)
        if len(inputs.radar_points) == 0:
            self._bad("bad.radar_empty", "radar sweep has no points: depth from the image alone")
        result = self.estimator.estimate(inputs.image, inputs.radar_points)
        for stage, key in (
            ("rasterise", "preprocess"),
            ("model", "model"),
            ("postprocess", "postprocess"),
        ):
            if key in result.timings:
                self.stats.latency(stage, result.timings[key])
        start = time.perf_counter()
        self._publish(image.header, info, inputs.camera_matrix, result)
        self.stats.latency("publish", time.perf_counter() - start)
        now = self.get_clock().now().nanoseconds * 1e-9
        stamp_age = now - stamp_to_seconds(image.header.stamp)
        if 0.0 <= stamp_age < MAX_STAMP_AGE_SECONDS:  # a bag replayed without /clock has old stamps
            self.stats.latency("end_to_end", stamp_age)
        self.stats.count("published")

    def _publish(self, header, info: CameraInfo, camera_matrix, result) -> None:
        self.pub_depth.publish(outputs.depth_image(result.depth, header))
        self.pub_info.publish(outputs.depth_camera_info(info, header))
        if self.config.publish_uncertainty and result.uncertainty is not None:
            self.pub_uncertainty.publish(outputs.depth_image(result.uncertainty, header))
        if self.config.publish_points and self.pub_points is not None:
            self.pub_points.publish(
                outputs.depth_points(result.depth, camera_matrix, header, self.max_depth)
            )
        if self.config.publish_colored and self.pub_colored is not None:
            self.pub_colored.publish(outputs.depth_colored(result.depth, self.max_depth, header))

    # --- diagnostics -------------------------------------------------------------------------

    def _report(self) -> None:
        # The main counts are always there, so a monitor sees zeros before any input.
        values = {"pairs": 0.0, "published": 0.0, **self.stats.snapshot()}
        if self.sync is not None:  # message_filters does not count its drops
            counters = asdict(self.sync.counters)
            values["dropped.unmatched_beyond_slop"] = counters["images_unmatched"]
            values["dropped.queue_overflow"] = counters["queue_overflow"]
            values["bad.stamps_backwards"] = counters["stamps_backwards"]
            values["time_resets"] = counters["time_resets"]
        warnings = [
            f"no {stream} received for {self.config.no_input_warning:g} s on {self.resolve_topic_name(stream)} "
            f"(check the topic and the QoS; {TRANSPORT_HINT})"
            for stream in self.stats.silent_streams(
                ("image", "radar"), self.config.no_input_warning, self._started
            )
        ]
        if warnings:
            self.get_logger().warning(
                "; ".join(warnings),
                throttle_duration_sec=max(LOG_THROTTLE_SECONDS, self.config.no_input_warning),
            )
        self.pub_diagnostics.publish(
            diagnostic_array(
                f"{self.get_name()}: depth",
                "lircdepth",
                values,
                warnings,
                self.get_clock().now().to_msg(),
                info={
                    "backend": self.estimator.backend_name,
                    "backend_reason": self.estimator.backend_reason,
                    "device": str(self.estimator.device),
                },
            )
        )
        self._periods += 1
        if self._periods % LOG_EVERY_PERIODS == 0:
            self.get_logger().info(summary_line(values))

    def stop(self) -> None:
        with self._wake:
            self._running = False
            self._wake.notify()
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
