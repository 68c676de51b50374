"""`lircdepth_node`: camera image + radar cloud -> metric depth image.

The node holds the data flow: its parameters (params.py), subscriptions and publishers.
Callbacks only check messages and pair them (pairing.py: the project's sync, or
message_filters' with `sync.method: message_filters`); the inference worker (worker.py)
runs the model on the newest pair of each camera, dropping (and counting) older ones, so a
slow model never backs up the executor. With `cameras` (a surround rig) every camera pairs
with every radar on its own, and the worker runs the newest pair of each ready camera in
one batched forward. Malformed input is logged (throttled), counted and skipped
(faults.py). Timers run on a steady clock, so diagnostics go on with use_sim_time and no
/clock; what /diagnostics says is built in status_report.py.

The command line (`lircdepth_node`, flags, the shipped YAML) is in launcher.py.
"""

from __future__ import annotations

import time
from dataclasses import replace

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import QoSMessageLostInfo, SubscriptionEventCallbacks
from rclpy.exceptions import InvalidTopicNameException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from lircdepth.inference.preprocess import NETWORK_STRIDE
from lircdepth_ros.batching import Job, PendingFrames
from lircdepth_ros.calibration import RadarToCamera
from lircdepth_ros.camera import CameraStream
from lircdepth_ros.compat import chosen_profile
from lircdepth_ros.conversions import camera_matrix_from_info
from lircdepth_ros.degraded import CAMERA_ONLY, STOP, RadarSilence, silence_text
from lircdepth_ros.diagnostics import NodeStats, diagnostic_array, summary_line
from lircdepth_ros.faults import FaultLog
from lircdepth_ros.image_input import check_image_message, decoder_name, image_subscription
from lircdepth_ros.interruptible import run_until_shutdown
from lircdepth_ros.latched import POLL_SECONDS as LATCHED_POLL_SECONDS
from lircdepth_ros.latched import LatchedSubscription
from lircdepth_ros.pairing import IMAGE, SweepHistory, make_pairing
from lircdepth_ros.params import (
    ParameterError,
    config_from_values,
    declare_parameters,
    parameter_values,
)
from lircdepth_ros.radar import check_radar_cloud
from lircdepth_ros.radar_fields import RadarChannelMonitor
from lircdepth_ros.rig import rig_layout
from lircdepth_ros.status_report import TRANSPORT_HINT, StatusReport
from lircdepth_ros.tf_buffer import stamp_to_seconds
from lircdepth_ros.tf_window import make_transform_source
from lircdepth_ros.topic_types import TopicTypes
from lircdepth_ros.worker import InferenceWorker, WorkerSettings

NODE_NAME = "lircdepth_node"
LOG_THROTTLE_SECONDS = 5.0
# One INFO summary line per this many diagnostics periods.
LOG_EVERY_PERIODS = 10
# Shortest period of the timer that decides images which waited sync.max_wait.
MIN_EXPIRE_PERIOD = 0.01


class StartupError(RuntimeError):
    """The node cannot start (bad parameter, missing checkpoint); the text says why."""


class DepthNode(Node):
    """Start-up (parameters, model, topics, timers, worker), then callbacks that check and
    pair messages, the pairs' way to the worker, run-time parameters and diagnostics."""

    # Images and sweeps are processed; a managed node is so only while active.
    _active = True

    def __init__(self, **node_kwargs) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        self._declare()
        try:
            self.estimator = self._load_estimator()
        except BaseException:
            self.destroy_node()  # frees the DDS participant (and its shared memory) at once
            raise
        self._start()

    def _declare(self) -> None:
        try:
            self._values = declare_parameters(self)
            self.config = config_from_values(self._values)
        except ParameterError as error:
            raise StartupError(str(error)) from error

    def _load_estimator(self):
        from lircdepth.inference import DepthEstimator

        config = self.config
        self.get_logger().info(f"loading {config.checkpoint} ({config.backend} on {config.device})")
        try:
            return run_until_shutdown(
                lambda: DepthEstimator.from_checkpoint(
                    config.checkpoint, device=config.device, backend=config.backend
                ),
                self.context.ok,
                "loading the model",
            )
        except (FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
            raise StartupError(
                f"cannot load checkpoint {self.config.checkpoint}: {error}"
            ) from error

    def _start(self) -> None:
        """Topics, timers and the worker, for the loaded estimator."""
        config = self.config
        self.layout = rig_layout(config.cameras, config.radars, config.topics)
        self.max_depth = config.max_depth or self.estimator.max_depth
        self.stats = NodeStats()
        self.faults = FaultLog(self.stats, self.get_logger().warning, LOG_THROTTLE_SECONDS)
        self._radar_streams = tuple(radar.stream for radar in self.layout.radars)
        self._sweeps = SweepHistory(
            self._radar_streams, config.sync_queue_size + config.radar_sweeps
        )
        self._frames = PendingFrames(len(self.layout.cameras))
        self._radar_silence = RadarSilence()
        # Steady, not ROS time: with use_sim_time and no /clock a ROS-time timer never fires.
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        transforms = (
            make_transform_source(self, config.tf_cache_time, self._tf_bad, config.tf_extrapolation)
            if config.tf_enabled
            else None
        )
        self.extrinsics = RadarToCamera(transforms, config.fixed_frame, config.extrinsic)
        qos_in = self._input_qos(config.qos_depth)
        # Radar clouds are small: keep as many as the pairing may hold, so a burst (a
        # lockstep player, an executor busy with six cameras) loses no sweep in the reader.
        qos_radar = self._input_qos(max(config.qos_depth, config.sync_queue_size))
        self._subscribe_inputs(qos_in, qos_radar)
        self._start_reporting()
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self._worker = self._make_worker()
        self._worker.start()
        self.get_logger().info(
            self._ready_text(transforms.name if transforms else "off", qos_in, qos_radar)
        )

    def _subscribe_inputs(self, qos_in: QoSProfile, qos_radar: QoSProfile) -> None:
        """Every camera's image and CameraInfo (with its outputs), and every radar."""
        self._topic_types = TopicTypes(
            self.get_topic_names_and_types,
            lambda topic: [p.topic_type for p in self.get_publishers_info_by_topic(topic)],
            lambda: {
                name
                for name, _ in self.get_publisher_names_and_types_by_node(
                    self.get_name(), self.get_namespace()
                )
            },
        )
        self._radar_channels = RadarChannelMonitor(
            self.config.radar_fields,
            self.stats.count,
            self.get_logger().warning,
            self.config.radar_preset,
            {r.stream: self.resolve_topic_name(r.topic) for r in self.layout.radars},
        )
        self._qos_out = QoSProfile(depth=self.config.qos_depth)
        self._latched: list[LatchedSubscription] = []
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
        self.create_timer(LATCHED_POLL_SECONDS, self._poll_latched, clock=self._steady)

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

    def _camera(self, index: int, topics, qos_in: QoSProfile) -> CameraStream:
        """One camera: its own counters in a rig (the node's for the single camera)."""
        stats = NodeStats() if topics.name else self.stats
        image_type, image_topic = image_subscription(
            topics.image, self.config.image_transport, self.resolve_topic_name
        )
        topics = replace(topics, image=image_topic)
        camera = CameraStream(index, topics, stats, self._pairing(), self, self._qos_out)
        self._subscribe(
            image_type, image_topic, lambda msg: self._on_image(camera, msg), stats, "image", qos_in
        )
        self._subscribe(
            CameraInfo,
            topics.camera_info,
            lambda msg: self._on_camera_info(camera, msg),
            stats,
            "camera_info",
            qos_in,
        )
        self._latched.append(
            LatchedSubscription(
                self,
                CameraInfo,
                topics.camera_info,
                lambda msg: self._on_latched_camera_info(camera, msg),
            )
        )
        camera.create_enabled_publishers(self.config.publish_points, self.config.publish_colored)
        return camera

    def _pairing(self):
        config = self.config
        try:
            return make_pairing(
                config.sync_method,
                config.sync_slop,
                config.sync_queue_size,
                config.sync_max_wait,
                self._radar_streams,
            )
        except ImportError as error:
            raise StartupError(str(error)) from error

    def _subscribe(
        self, msg_type, topic: str, callback, stats: NodeStats, stream: str, qos
    ) -> None:
        self._topic_types.expect(self.resolve_topic_name(topic), msg_type)
        self.create_subscription(
            msg_type,
            topic,
            callback,
            qos,
            event_callbacks=SubscriptionEventCallbacks(
                message_lost=lambda info: self._on_lost(stats, stream, topic, info)
            ),
        )

    def _start_reporting(self) -> None:
        """/diagnostics and its timer (with the pairing's expiry timer)."""
        self._periods = 0
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._status_report = StatusReport(
            self.get_fully_qualified_name(),  # names the instance: /<namespace>/<name>
            self.layout,
            self.stats,
            self.cameras,
            self.resolve_topic_name,
            {
                "backend": self.estimator.backend_name,
                "backend_reason": self.estimator.backend_reason,
                "device": str(self.estimator.device),
            },
            explain=self._topic_types.explain,
        )
        self._timers_running: list = []
        self._start_timers()

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

    def _make_worker(self) -> InferenceWorker:
        settings = WorkerSettings(
            self.config,
            self.max_depth,
            self.resolve_topic_name,
            lambda: self.get_clock().now().nanoseconds * 1e-9,
            self.context.ok,
        )
        return InferenceWorker(
            self.cameras,
            self._frames,
            self.estimator,
            self.extrinsics,
            self.faults,
            settings,
            rig_stats=self.stats if self.layout.is_rig else None,
            count_streams=self.layout.is_rig or len(self._radar_streams) > 1,
        )

    def _ready_text(self, tf_source: str, qos_in: QoSProfile, qos_radar: QoSProfile) -> str:
        config, estimator = self.config, self.estimator
        sim_time = self.get_parameter("use_sim_time").value
        return (
            f"ready: {config.checkpoint.name} on {estimator.device} "
            f"({estimator.backend_name}: {estimator.backend_reason}); "
            f"inputs {self._inputs_text()}; transport {config.image_transport} "
            f"(CompressedImage decoder {decoder_name()}); radar preset {config.radar_preset}; "
            f"QoS {'best effort' if config.qos_sensor_data else 'reliable'}, depth "
            f"{qos_in.depth} (radar {qos_radar.depth}); "
            f"sync {config.sync_method}; TF {tf_source}; "
            f"clock {'sim (use_sim_time)' if sim_time else 'system'}; "
            f"Fast DDS profile={chosen_profile() or '(unset)'}"
        )

    def _inputs_text(self) -> str:
        radars = ", ".join(self.resolve_topic_name(radar.topic) for radar in self.layout.radars)
        images = ", ".join(self.resolve_topic_name(c.topics.image) for c in self.cameras)
        if not self.layout.is_rig:
            return f"{images}, {radars}"
        return f"{len(self.cameras)} cameras ({images}), radars {radars}"

    # --- callbacks: cheap, never raise ---------------------------------------------------

    def _on_camera_info(self, camera: CameraStream, msg: CameraInfo) -> None:
        camera.stats.received("camera_info")
        if not self.faults.accept(camera, camera_matrix_from_info, msg):
            return  # the last valid CameraInfo stays in use
        camera.camera_info = msg
        self._frames.notify()

    def _on_latched_camera_info(self, camera: CameraStream, msg: CameraInfo) -> None:
        if msg != camera.camera_info:  # a reliable latching publisher reaches both subscriptions
            self._on_camera_info(camera, msg)

    def _poll_latched(self) -> None:
        for latched in self._latched:
            latched.poll()

    def _on_image(self, camera: CameraStream, msg: Image | CompressedImage) -> None:
        if not self._active:
            return
        camera.stats.received("image")
        if self.faults.accept(
            camera, check_image_message, msg, self.config.max_image_pixels, NETWORK_STRIDE
        ):
            camera.last_image = time.monotonic()
            self._queue_pairs(camera, camera.pairing.add(IMAGE, msg))

    def _on_radar(self, stream: str, msg: PointCloud2) -> None:
        if not self._active:
            return
        self.stats.received(stream)
        config = self.config
        if not self.faults.accept(
            None, check_radar_cloud, msg, config.radar_fields, config.max_radar_points
        ):
            return
        self._radar_channels.check(stream, msg.fields)
        self._sweeps.add(stream, msg)
        self._radar_silence.sweep(stamp_to_seconds(msg.header.stamp))
        for camera in self.cameras:
            self._queue_pairs(camera, camera.pairing.add(stream, msg))

    def _on_lost(self, stats: NodeStats, stream: str, topic: str, info: QoSMessageLostInfo) -> None:
        """The middleware lost samples (best effort): large images without shared memory."""
        stats.count(f"dropped.transport_lost.{stream}", info.total_count_change)
        self.get_logger().warning(
            f"{info.total_count} {stream} messages lost in transport on "
            f"{self.resolve_topic_name(topic)}; {TRANSPORT_HINT}",
            throttle_duration_sec=LOG_THROTTLE_SECONDS,
        )

    def _tf_bad(self, text: str) -> None:
        self.faults.bad(None, "bad.tf_message", text)

    def _expire(self) -> None:
        for camera in self.cameras:
            self._queue_pairs(camera, camera.pairing.expire())

    # --- pairs -> the worker's queue ------------------------------------------------------

    def _queue_pairs(self, camera: CameraStream, pairs: list) -> None:
        if any(not sweeps for _, sweeps in pairs):  # images no sweep came for (counted)
            pairs = [pair for pair in pairs if pair[1] or self._camera_only(camera, pair[0])]
        if not pairs:
            return
        camera.stats.count("pairs", len(pairs))
        image, sweeps = pairs[-1]
        streams, clouds = [], []
        for stream, sweep in sweeps.items():
            for cloud in self._sweeps.up_to(stream, sweep, self.config.radar_sweeps):
                streams.append(stream)
                clouds.append(cloud)
        job = Job(camera.index, image, clouds, time.monotonic(), streams=streams)
        dropped = len(pairs) - 1 + self._frames.put(job)
        if dropped:
            camera.stats.count("dropped.superseded_pairs", dropped)

    def _camera_only(self, camera: CameraStream, image: Image) -> bool:
        """Use an image no sweep came for: only in degraded.mode camera_only, while the
        radar is silent (see degraded.py)."""
        config = self.config
        stamp = stamp_to_seconds(image.header.stamp)
        if self._radar_silence.silent_for(stamp, config.degraded_radar_timeout) is None:
            return False
        if config.degraded_mode == CAMERA_ONLY:
            return True
        camera.stats.count("degraded.images_stopped")
        return False

    # --- run-time parameters (the dynamic ones; rclpy refuses the read-only ones) ---------

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
        self._worker.settings.config, self._worker.settings.max_depth = config, self.max_depth
        for camera in self.cameras:
            camera.pairing.configure(config.sync_slop, config.sync_queue_size, config.sync_max_wait)
            camera.create_enabled_publishers(config.publish_points, config.publish_colored)
        self._sweeps.resize(config.sync_queue_size + config.radar_sweeps)
        periods = ("diagnostics_period", "sync_max_wait")
        if any(getattr(old, name) != getattr(config, name) for name in periods):
            self._start_timers()

    # --- diagnostics -------------------------------------------------------------------------

    def _report(self) -> None:
        report = self._status_report.build(
            self.config.no_input_warning,
            self.config.diagnostics_period,
            node_notes=self._node_notes(),
            idle=self.config.lazy and not any(c.has_subscribers() for c in self.cameras),
        )
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

    def _node_notes(self) -> list[tuple[str, bool]]:
        """(text, is an error) facts about the whole node for its status: degraded mode,
        while images were judged in radar silence within the last two periods."""
        silence = self._radar_silence.recent(2 * self.config.diagnostics_period)
        if silence is None:
            return []
        topics = [self.resolve_topic_name(radar.topic) for radar in self.layout.radars]
        mode = self.config.degraded_mode
        return [(silence_text(silence, mode, topics), mode == STOP)]

    def stop(self) -> None:
        self._worker.stop()
