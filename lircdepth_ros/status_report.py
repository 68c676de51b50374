"""The node's /diagnostics statuses: one for the single-camera node, or the node's own
(radars, batches, totals, engine) and one per camera of a rig.

Kept apart from the node so the node holds the data flow and this module what a monitor
reads from it; `StatusReport.build` runs on the diagnostics timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from diagnostic_msgs.msg import DiagnosticStatus

from lircdepth_ros.camera import CameraStream
from lircdepth_ros.compat import profile_env_names
from lircdepth_ros.diagnostics import NodeStats, diagnostic_status, summed_counts
from lircdepth_ros.health import WINDOW_PERIODS, Health
from lircdepth_ros.rig import RigLayout

IDLE_MESSAGE = "idle: no subscriber to any output (lazy)"
TRANSPORT_HINT = (
    "camera-size images need the Fast DDS shared-memory profile "
    f"{profile_env_names()[0]}=config/fastdds_shm.xml"
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
        explain: Callable[[str], str | None] | None = None,
    ) -> None:
        self.node_name, self.layout, self.stats, self.cameras = node_name, layout, stats, cameras
        self.resolve, self.engine = resolve, engine
        self.explain = explain or (lambda _topic: None)  # a silent topic's known cause
        self.started = time.monotonic()
        # Each camera's own: its counters' window of WINDOW_PERIODS reports.
        self.health = {camera.index: Health() for camera in cameras}

    def build(
        self,
        no_input_warning: float,
        period: float = 1.0,
        node_notes: Sequence[tuple[str, bool]] = (),
        idle: bool = False,
    ) -> Report:
        """`node_notes`: (text, is an error) about the whole node (degraded mode); `idle`:
        the lazy node has no subscriber, so OK reads "idle" rather than "running"."""
        radar_topics = {radar.stream: radar.topic for radar in self.layout.radars}
        name = f"{self.node_name}: depth"
        notes = [text for text, _ in node_notes]
        noted_error = any(error for _, error in node_notes)
        ok = IDLE_MESSAGE if idle else "running"
        if not self.layout.is_rig:
            camera = self.cameras[0]
            values = self._camera_values(camera)
            verdict = self._health(camera, values, period)
            warnings = (
                notes
                + verdict.warnings
                + self._silent(
                    self.stats, {"image": camera.topics.image, **radar_topics}, no_input_warning
                )
            )
            status = diagnostic_status(
                name,
                "lircdepth",
                values,
                warnings,
                info=self.engine,
                error=verdict.no_depth or noted_error,
                ok_message=ok,
            )
            return Report([status], values, warnings)
        statuses, per_camera, failing = [], [], []
        logged: list[str] = []
        for camera in self.cameras:
            camera_values = self._camera_values(camera)
            verdict = self._health(camera, camera_values, period)
            camera_warnings = verdict.warnings + self._camera_warnings(
                camera, no_input_warning, verdict.warnings
            )
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
                    error=verdict.no_depth,
                )
            )
        values = {
            "cameras": float(len(self.cameras)),
            "cameras.warn": float(len(failing)),
            **summed_counts(per_camera),
            **self.stats.snapshot(),
        }
        warnings = notes + self._silent(self.stats, radar_topics, no_input_warning)
        logged = warnings + logged
        if failing:
            warnings.append(f"cameras with problems: {', '.join(failing)}")
        statuses.insert(
            0,
            diagnostic_status(
                name,
                "lircdepth",
                values,
                warnings,
                info=self.engine,
                error=noted_error,
                ok_message=ok,
            ),
        )
        return Report(statuses, values, logged)

    def _silent(self, stats: NodeStats, topics: dict[str, str], timeout: float) -> list[str]:
        """Warnings for input streams (stream -> topic) silent for `timeout` seconds."""
        return [
            f"no {stream} received for {timeout:g} s on {self.resolve(topics[stream])} "
            f"({self._cause(self.resolve(topics[stream]))})"
            for stream in stats.silent_streams(tuple(topics), timeout, self.started)
        ]

    def _health(self, camera: CameraStream, values: dict[str, float], period: float):
        """Why the camera publishes no (or little) depth over the last periods: ERROR
        (`no_depth`) while its images arrive and none becomes depth, for one camera or each
        camera of a rig alike."""
        return self.health[camera.index].assess(
            values,
            dict(camera.stats.texts),
            image_topic=self.resolve(camera.topics.image),
            camera_info_topic=self.resolve(camera.topics.camera_info),
            waiting_for_camera_info=camera.camera_info is None and camera.last_image is not None,
            transport_hint=TRANSPORT_HINT,
            window_seconds=WINDOW_PERIODS * period,
        )

    def _cause(self, topic: str) -> str:
        return self.explain(topic) or f"check the topic and the QoS; {TRANSPORT_HINT}"

    @staticmethod
    def _camera_values(camera: CameraStream) -> dict[str, float]:
        # The main counts are always there, so a monitor sees zeros before any input.
        return {
            "pairs": 0.0,
            "published": 0.0,
            **camera.stats.snapshot(),
            **camera.pairing.counts(),
        }

    def _camera_warnings(
        self, camera: CameraStream, timeout: float, verdict: list[str]
    ) -> list[str]:
        """A rig camera's warnings besides its health `verdict`: a silent image topic, and
        why its last pair was skipped until it publishes (unless the verdict says so)."""
        warnings = self._silent(camera.stats, {"image": camera.topics.image}, timeout)
        cause = (camera.failing or "").partition("]: ")[2]  # "frames skipped [key]: text"
        if camera.failing and not any(cause in text for text in verdict):
            warnings.append(camera.failing)
        return warnings
