"""One camera's pairing of images with radar sweeps, behind one interface for the single
camera and the rig, whichever `sync.method` is chosen:

    add(stream, msg)  -> pairs   an accepted image (stream "image") or sweep of a radar stream
    expire()          -> pairs   images decided by `sync.max_wait` (the node's timer)
    configure(slop, queue_size, max_wait)   new `sync.*` values at run time
    counts()          -> {name: value}      its drop counters for /diagnostics

A pair is (image, {radar stream: sweep}); an image no sweep came for is (image, {}) (used
only in degraded mode). `ProjectPairing` is the project's rule (sync.py),
`MessageFiltersPairing` message_filters' (mf_sync.py). `SweepHistory` keeps the sweeps of
each radar a pair accumulates (`radar.sweeps`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from typing import TYPE_CHECKING, Protocol

from lircdepth_ros.mf_sync import MessageFiltersPairing
from lircdepth_ros.sync import RigSync
from lircdepth_ros.tf_buffer import stamp_to_seconds

if TYPE_CHECKING:
    from sensor_msgs.msg import PointCloud2

IMAGE = "image"


class Pairing(Protocol):
    def add(self, stream: str, msg) -> list[tuple[object, dict]]: ...

    def expire(self) -> list[tuple[object, dict]]: ...

    def configure(self, slop: float, queue_size: int, max_wait: float) -> None: ...

    def counts(self) -> dict[str, float]: ...


class ProjectPairing:
    """The project's nearest-sweep rule (sync.py) on ROS messages, by header stamp."""

    def __init__(self, slop: float, queue_size: int, max_wait: float, radars: tuple[str, ...]):
        self.sync = RigSync(
            slop,
            queue_size,
            max_wait,
            radars=radars,
            return_unmatched=True,  # for degraded.mode camera_only
        )

    def add(self, stream: str, msg) -> list[tuple[object, dict]]:
        stamp = stamp_to_seconds(msg.header.stamp)
        if stream == IMAGE:
            return self.sync.add_image(stamp, msg)
        return self.sync.add_sweep(stream, stamp, msg)

    def expire(self) -> list[tuple[object, dict]]:
        return self.sync.expire()

    def configure(self, slop: float, queue_size: int, max_wait: float) -> None:
        self.sync.configure(slop, queue_size, max_wait)

    def counts(self) -> dict[str, float]:
        counters = asdict(self.sync.counters)
        return {
            "dropped.unmatched_beyond_slop": counters["images_unmatched"],
            "dropped.queue_overflow": counters["queue_overflow"],
            "bad.stamps_backwards": counters["stamps_backwards"],
            "time_resets": counters["time_resets"],
        }


def make_pairing(
    method: str, slop: float, queue_size: int, max_wait: float, radars: tuple[str, ...]
) -> Pairing:
    """The pairing of `sync.method`; ImportError when message_filters is asked for and absent."""
    if method == "message_filters":
        return MessageFiltersPairing(slop, queue_size, radars=radars)
    return ProjectPairing(slop, queue_size, max_wait, radars)


class SweepHistory:
    """The recent sweeps of each radar stream, so a pair can carry its sweep and the ones
    before it (`radar.sweeps`, motion-compensated downstream)."""

    def __init__(self, streams: tuple[str, ...], keep: int) -> None:
        self._recent: dict[str, deque[PointCloud2]] = {
            stream: deque(maxlen=keep) for stream in streams
        }

    def add(self, stream: str, msg) -> None:
        self._recent[stream].append(msg)

    def resize(self, keep: int) -> None:
        """Keep this many per stream from now on (sync.queue_size changed at run time)."""
        self._recent = {
            stream: deque(sweeps, maxlen=keep) for stream, sweeps in self._recent.items()
        }

    def up_to(self, stream: str, sweep, count: int) -> list:
        """`sweep` and up to count - 1 sweeps of its radar before it (oldest first)."""
        if count <= 1:
            return [sweep]
        stamp = stamp_to_seconds(sweep.header.stamp)
        recent = list(self._recent[stream])
        earlier = [m for m in recent if stamp_to_seconds(m.header.stamp) < stamp]
        return [*earlier[len(earlier) - count + 1 :], sweep]
