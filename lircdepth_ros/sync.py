"""Approximate-time pairing of camera images with radar sweeps by header stamp.

Why our own (the default; `sync.method: message_filters` uses message_filters' instead):
message_filters is not on PyPI, its policy takes the first sweep within the slop rather
than the nearest, and it gives none of the counts the node reports (pairs dropped beyond
the slop, stamps going backwards).
Rule: each image is paired with the radar sweep nearest in time if |dt| <= slop, and
each sweep is used at most once. The decision for an image is made as soon as it is
known that no later sweep can be nearer, so radar may lag or lead and a lockstep
player (which waits for the depth before sending more) never stalls:
- a sweep stamped at or after the image has arrived, or
- the next sweep, predicted from the radar period (shortest of recent intervals), would
  be no nearer than the best one already here, or
- the image has waited `max_wait` seconds of wall time (radar late or silent).
Queues hold `queue_size` messages per stream; the oldest is dropped (and counted).

Several radars (a surround rig): `RigSync` applies the rule to each radar stream; an image
is decided when every radar is, and paired with the nearest sweep of each radar within the
slop (radars without one are left out; the image is dropped only when no radar has one).
`ApproximateTimeSync` is the one-radar form, giving (image, radar) pairs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# A stamp earlier than the last one by more than this is a restart (bag loop), not jitter.
TIME_RESET_SECONDS = 1.0
# Radar stamp intervals kept to estimate the radar period.
PERIOD_SAMPLES = 8
# Intervals needed before the period is trusted to predict the next sweep.
MIN_PERIOD_SAMPLES = 2
# The stream name of the one radar of `ApproximateTimeSync` (and of the single-radar node).
RADAR = "radar"


@dataclass
class SyncCounters:
    pairs: int = 0
    images_unmatched: int = 0
    queue_overflow: int = 0
    stamps_backwards: int = 0
    time_resets: int = 0
    decided_by_max_wait: int = 0


@dataclass
class _RadarQueue:
    """One radar stream's waiting sweeps (stamp, message, arrival) and recent intervals."""

    sweeps: deque = field(default_factory=deque)
    intervals: deque = field(default_factory=lambda: deque(maxlen=PERIOD_SAMPLES))

    def period(self) -> float | None:
        """The shortest recent interval, once two are known: a lost sweep (best effort, a
        subscription matched late) only lengthens an interval, and a period predicted too
        long would decide an image before a nearer sweep that is still on its way."""
        return min(self.intervals) if len(self.intervals) >= MIN_PERIOD_SAMPLES else None

    def clear(self) -> None:
        self.sweeps.clear()
        self.intervals.clear()


@dataclass
class RigSync:
    """Pairs (stamp, message) events of one image stream with those of named radar streams;
    not tied to ROS (pure, testable). Results are (image, {radar stream: sweep}).

    `now` arguments are monotonic wall-clock seconds (default time.monotonic()), given
    explicitly by tests.
    """

    slop: float = 0.05
    queue_size: int = 10
    max_wait: float = 0.1
    counters: SyncCounters = field(default_factory=SyncCounters)
    radars: tuple[str, ...] = (RADAR,)
    # Return images no sweep came for as (image, {}) (still counted as unmatched).
    return_unmatched: bool = False

    def __post_init__(self) -> None:
        if self.slop < 0 or self.queue_size < 1 or self.max_wait < 0 or not self.radars:
            raise ValueError(
                "slop and max_wait must be >= 0, queue_size >= 1 and radars not empty, got "
                f"{self.slop}, {self.max_wait}, {self.queue_size}, {self.radars}"
            )
        self._images: deque[tuple[float, Any, float]] = deque()
        self._queues = {stream: _RadarQueue() for stream in self.radars}
        self._last_stamp: dict[str, float] = {}
        self._lock = threading.Lock()

    def add_image(self, stamp: float, msg: Any, now: float | None = None) -> list[tuple[Any, dict]]:
        """Queue an image; return the (image, sweeps) pairs that became final."""
        return self._add(None, stamp, msg, now)

    def add_sweep(
        self, stream: str, stamp: float, msg: Any, now: float | None = None
    ) -> list[tuple[Any, dict]]:
        """Queue a sweep of radar `stream`; return the (image, sweeps) pairs that became final."""
        return self._add(stream, stamp, msg, now)

    def configure(self, slop: float, queue_size: int, max_wait: float) -> None:
        """New settings at run time (`ros2 param set`); queues shrink on the next message."""
        with self._lock:
            self.slop, self.queue_size, self.max_wait = slop, queue_size, max_wait

    def expire(self, now: float | None = None) -> list[tuple[Any, dict]]:
        """Decide images that have waited `max_wait`; call it periodically (a timer)."""
        with self._lock:
            return self._match(time.monotonic() if now is None else now)

    def radar_period(self, stream: str = RADAR) -> float | None:
        """Median interval of recent stamps of `stream`; None until two sweeps have arrived."""
        return self._queues[stream].period()

    def _add(self, stream: str | None, stamp: float, msg: Any, now: float | None) -> list:
        """`stream` None: an image; else a sweep of that radar."""
        now = time.monotonic() if now is None else now
        key = "" if stream is None else f"radar:{stream}"
        with self._lock:
            last = self._last_stamp.get(key)
            if last is not None and stamp < last:
                if last - stamp <= TIME_RESET_SECONDS:
                    self.counters.stamps_backwards += 1
                    return []
                self.counters.time_resets += 1
                self._images.clear()
                for radar in self._queues.values():
                    radar.clear()
                self._last_stamp.clear()
            queue = self._images if stream is None else self._queues[stream].sweeps
            if stream is not None and last is not None and stamp > last:
                self._queues[stream].intervals.append(stamp - last)
            self._last_stamp[key] = stamp
            queue.append((stamp, msg, now))
            while len(queue) > self.queue_size:
                queue.popleft()
                self.counters.queue_overflow += 1
            return self._match(now)

    def _decidable(self, radar: _RadarQueue, image_stamp: float, distance: float) -> bool:
        """Can no later sweep of this radar be nearer to the image than `distance`?"""
        latest = radar.sweeps[-1][0] if radar.sweeps else None
        if latest is not None and latest >= image_stamp:
            return True
        period = radar.period()
        return (
            latest is not None and period is not None and latest + period - image_stamp >= distance
        )

    def _nearest(self, radar: _RadarQueue, image_stamp: float) -> tuple[int | None, float]:
        distances = [abs(stamp - image_stamp) for stamp, _, _ in radar.sweeps]
        best = min(range(len(distances)), key=distances.__getitem__, default=None)
        return best, distances[best] if best is not None else float("inf")

    def _match(self, now: float) -> list[tuple[Any, dict]]:
        pairs = []
        while self._images:
            image_stamp, image, arrival = self._images[0]
            nearest = {s: self._nearest(q, image_stamp) for s, q in self._queues.items()}
            if not all(
                self._decidable(self._queues[s], image_stamp, distance)
                for s, (_, distance) in nearest.items()
            ):
                if now - arrival < self.max_wait:
                    break
                self.counters.decided_by_max_wait += 1
            self._images.popleft()
            sweeps = {}
            for stream, (best, distance) in nearest.items():
                if best is not None and distance <= self.slop:  # None: an empty queue
                    radar = self._queues[stream].sweeps
                    sweeps[stream] = radar[best][1]
                    for _ in range(best + 1):
                        radar.popleft()
            if not sweeps:
                self.counters.images_unmatched += 1
                if self.return_unmatched:  # as (image, {}): the caller may use it radar-less
                    pairs.append((image, sweeps))
                continue
            pairs.append((image, sweeps))
            self.counters.pairs += 1
        return pairs


class ApproximateTimeSync(RigSync):
    """The one-radar form: (image, radar) pairs, radar sweeps added with `add_radar`."""

    def add_image(self, stamp: float, msg: Any, now: float | None = None) -> list[tuple[Any, Any]]:
        return _single(super().add_image(stamp, msg, now))

    def add_radar(self, stamp: float, msg: Any, now: float | None = None) -> list[tuple[Any, Any]]:
        """Queue a radar sweep; return the (image, radar) pairs that became final."""
        return _single(self.add_sweep(RADAR, stamp, msg, now))

    def expire(self, now: float | None = None) -> list[tuple[Any, Any]]:
        return _single(super().expire(now))


def _single(pairs: list[tuple[Any, dict]]) -> list[tuple[Any, Any]]:
    return [(image, sweeps[RADAR]) for image, sweeps in pairs]
