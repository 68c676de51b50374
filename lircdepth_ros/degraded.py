"""Degraded mode: what the node does while every radar is silent (`degraded.*` parameters).

`camera_only` (the default) keeps publishing depth from the image alone, an empty radar
map, as the network does for a sweep with no points, and says so with a WARN; `stop`
publishes nothing and says so with an ERROR.

Silence is judged in stamp time, per image the pairing gave up on (no sweep within the
slop after `sync.max_wait`): the radar is silent for that image when its newest sweep is
stamped more than `degraded.radar_timeout` before the image. Wall time would not do: a
lockstep player leaves the radar quiet for as long as each forward takes, and a sweep sent
with the image may be read just after the image was decided. A radar that never sent a
sweep is not "gone silent" but missing (wrong topic): the silent-input warning says so.
Pure (no ROS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

CAMERA_ONLY, STOP = "camera_only", "stop"


class RadarSilence:
    """The stamp of the latest sweep of any radar, and the last image judged in silence."""

    def __init__(self) -> None:
        self._newest: float | None = None
        self._last: tuple[float, float] | None = None  # (monotonic when, silent seconds)
        self._lock = threading.Lock()

    def sweep(self, stamp: float) -> None:
        """The latest sweep's stamp (not the greatest: after a bag loop, time went back)."""
        with self._lock:
            self._newest = stamp

    def silent_for(self, image_stamp: float, timeout: float) -> float | None:
        """Seconds of radar silence before this image when over `timeout`, else None; a
        silent one is remembered for the status (`recent`)."""
        with self._lock:
            if self._newest is None or image_stamp - self._newest <= timeout:
                return None
            silence = image_stamp - self._newest
            self._last = (time.monotonic(), silence)
            return silence

    def recent(self, within: float) -> float | None:
        """The silence of the last image judged silent within `within` wall seconds."""
        with self._lock:
            if self._last is None or time.monotonic() - self._last[0] > within:
                return None
            return self._last[1]


def silence_text(seconds: float, mode: str, topics: Sequence[str]) -> str:
    where = ", ".join(topics)
    if mode == STOP:
        return f"radar silent for {seconds:.1f} s on {where}: no depth (degraded.mode stop)"
    return (
        f"radar silent for {seconds:.1f} s on {where}: publishing depth from the camera "
        "alone (degraded.mode camera_only)"
    )
