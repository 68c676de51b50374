"""Faults of the node's inputs and processing: counted by kind (the camera's counters, else
the node's) and logged, the first of each kind at once and then once per throttle period.

Shared by the callbacks (a malformed message) and the inference worker (a pair skipped).
"""

from __future__ import annotations

from collections.abc import Callable

from lircdepth_ros.camera import CameraStream
from lircdepth_ros.conversions import MessageError
from lircdepth_ros.diagnostics import KindThrottle, NodeStats


class FaultLog:
    def __init__(self, stats: NodeStats, warn: Callable[[str], object], period: float) -> None:
        self._stats, self._warn = stats, warn
        self._gate = KindThrottle(period)

    def bad(self, camera: CameraStream | None, key: str, text: str) -> None:
        """Count a fault under `key` (the camera's, else the node's); log the first of each
        kind, then once per throttle period."""
        name = camera.name if camera is not None else ""  # "": the node's own
        (camera.stats if camera is not None else self._stats).count(key, text=text)
        suppressed = self._gate.admit(f"{name}:{key}" if name else key)
        if suppressed is not None:
            more = f" (and {suppressed} more since the last report)" if suppressed else ""
            where = f"{name}: " if name else ""
            self._warn(f"[{key}] {where}{text}{more}")

    def accept(self, camera: CameraStream | None, check, *args) -> bool:
        """Run a header-only validator: a malformed or oversized message is counted by kind
        and dropped here, before it is queued or anything the size of its claim is allocated."""
        try:
            check(*args)
        except MessageError as error:
            self.bad(camera, f"rejected.{error.kind}", str(error))
            return False
        return True
