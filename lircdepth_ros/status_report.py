"""The node's /diagnostics statuses: one for the single-camera node, or the node's own
(radars, batches, totals, engine) and one per camera of a rig.

Kept apart from the node so the node holds the data flow and this module what a monitor
reads from it; `StatusReport.build` runs on the diagnostics timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from diagnostic_msgs.msg import DiagnosticStatus

from lircdepth_ros.camera import CameraStream
from lircdepth_ros.diagnostics import NodeStats, diagnostic_status, summed_counts
from lircdepth_ros.rig import RigLayout
from lircdepth_ros.sync import RigSync

TRANSPORT_HINT = (
    "camera-size images need the Fast DDS shared-memory profile "
    "FASTDDS_DEFAULT_PROFILES_FILE=config/fastdds_shm.xml"
)


@dataclass
class Report:
    statuses: list[DiagnosticStatus]
    values: dict[str, float]  # the node's (for the summary log line)
    warnings: list[str]  # every warning, camera ones prefixed with the camera (for the log)


class StatusReport:
    def __init__(
        self,
        node_name: str,
        layout: RigLayout,
        stats: NodeStats,
        cameras: Sequence[CameraStream],
        resolve: Callable[[str], str],
        engine: dict[str, str],
    ) -> None:
        self.node_name, self.layout, self.stats, self.cameras = node_name, layout, stats, cameras
        self.resolve, self.engine = resolve, engine
        self.started = time.monotonic()

    def build(self, no_input_warning: float) -> Report:
        radar_topics = {radar.stream: radar.topic for radar in self.layout.radars}
        name = f"{self.node_name}: depth"
        if not self.layout.is_rig:
            values = self._camera_values(self.cameras[0])
            warnings = self._silent(
                self.stats, {"image": "image", **radar_topics}, no_input_warning
            )
            status = diagnostic_status(name, "lircdepth", values, warnings, info=self.engine)
            return Report([status], values, warnings)
        statuses, logged, per_camera, failing = [], [], [], []
        for camera in self.cameras:
            camera_values = self._camera_values(camera)
            camera_warnings = self._camera_warnings(camera, no_input_warning)
            per_camera.append(camera_values)
            if camera_warnings:
                failing.append(camera.name)
                logged.extend(f"{camera.name}: {text}" for text in camera_warnings)
            statuses.append(
                diagnostic_status(
                    f"{self.node_name}: {camera.name}",
                    camera.name,
                    camera_values,
                    camera_warnings,
                    info={"camera": camera.name},
                )
            )
        values = {
            "cameras": float(len(self.cameras)),
            "cameras.warn": float(len(failing)),
            **summed_counts(per_camera),
            **self.stats.snapshot(),
        }
        warnings = self._silent(self.stats, radar_topics, no_input_warning)
        logged = warnings + logged
        if failing:
            warnings.append(f"cameras with problems: {', '.join(failing)}")
        statuses.insert(0, diagnostic_status(name, "lircdepth", values, warnings, info=self.engine))
        return Report(statuses, values, logged)

    def _silent(self, stats: NodeStats, topics: dict[str, str], timeout: float) -> list[str]:
        """Warnings for input streams (stream -> topic) silent for `timeout` seconds."""
        return [
            f"no {stream} received for {timeout:g} s on {self.resolve(topics[stream])} "
            f"(check the topic and the QoS; {TRANSPORT_HINT})"
            for stream in stats.silent_streams(tuple(topics), timeout, self.started)
        ]

    @staticmethod
    def _camera_values(camera: CameraStream) -> dict[str, float]:
        # The main counts are always there, so a monitor sees zeros before any input.
        values = {"pairs": 0.0, "published": 0.0, **camera.stats.snapshot()}
        if isinstance(camera.pairing, RigSync):  # message_filters does not count its drops
            counters = asdict(camera.pairing.counters)
            values["dropped.unmatched_beyond_slop"] = counters["images_unmatched"]
            values["dropped.queue_overflow"] = counters["queue_overflow"]
            values["bad.stamps_backwards"] = counters["stamps_backwards"]
            values["time_resets"] = counters["time_resets"]
        return values

    def _camera_warnings(self, camera: CameraStream, timeout: float) -> list[str]:
        warnings = self._silent(camera.stats, {"image": camera.topics.image}, timeout)
        if camera.camera_info is None and camera.last_image is not None:
            warnings.append(f"no valid CameraInfo on {self.resolve(camera.topics.camera_info)}")
        if camera.failing:
            warnings.append(camera.failing)
        return warnings
