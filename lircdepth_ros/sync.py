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
- the next sweep, predicted from the radar period (median of recent intervals), would
  be no nearer than the best one already here, or
- the image has waited `max_wait` seconds of wall time (radar late or silent).
Queues hold `queue_size` messages per stream; the oldest is dropped (and counted).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# A stamp earlier than the last one by more than this is a restart (bag loop), not jitter.
TIME_RESET_SECONDS = 1.0
# Radar stamp intervals kept to estimate the radar period.
PERIOD_SAMPLES = 8


@dataclass
class SyncCounters:
    pairs: int = 0
    images_unmatched: int = 0
    queue_overflow: int = 0
    stamps_backwards: int = 0
    time_resets: int = 0
    decided_by_max_wait: int = 0


@dataclass
class ApproximateTimeSync:
    """Pairs (stamp, message) events from two streams; not tied to ROS (pure, testable).

    `now` arguments are monotonic wall-clock seconds (default time.monotonic()), given
    explicitly by tests.
    """

    slop: float = 0.05
    queue_size: int = 10
    max_wait: float = 0.1
    counters: SyncCounters = field(default_factory=SyncCounters)

    def __post_init__(self) -> None:
        if self.slop < 0 or self.queue_size < 1 or self.max_wait < 0:
            raise ValueError(
                "slop and max_wait must be >= 0 and queue_size >= 1, got "
                f"{self.slop}, {self.max_wait}, {self.queue_size}"
            )
        self._images: deque[tuple[float, Any, float]] = deque()
        self._radars: deque[tuple[float, Any, float]] = deque()
        self._radar_intervals: deque[float] = deque(maxlen=PERIOD_SAMPLES)
        self._last_stamp: dict[int, float] = {}
        self._lock = threading.Lock()

    def add_image(self, stamp: float, msg: Any, now: float | None = None) -> list[tuple[Any, Any]]:
        """Queue an image; return the (image, radar) pairs that became final."""
        return self._add(self._images, stamp, msg, now)

    def add_radar(self, stamp: float, msg: Any, now: float | None = None) -> list[tuple[Any, Any]]:
        """Queue a radar sweep; return the (image, radar) pairs that became final."""
        return self._add(self._radars, stamp, msg, now)

    def configure(self, slop: float, queue_size: int, max_wait: float) -> None:
        """New settings at run time (`ros2 param set`); queues shrink on the next message."""
        with self._lock:
            self.slop, self.queue_size, self.max_wait = slop, queue_size, max_wait

    def expire(self, now: float | None = None) -> list[tuple[Any, Any]]:
        """Decide images that have waited `max_wait`; call it periodically (a timer)."""
        with self._lock:
            return self._match(time.monotonic() if now is None else now)

    def radar_period(self) -> float | None:
        """Median interval of recent radar stamps; None until two sweeps have arrived."""
        return statistics.median(self._radar_intervals) if self._radar_intervals else None

    def _add(self, queue: deque, stamp: float, msg: Any, now: float | None) -> list:
        now = time.monotonic() if now is None else now
        with self._lock:
            last = self._last_stamp.get(id(queue))
            if last is not None and stamp < last:
                if last - stamp <= TIME_RESET_SECONDS:
                    self.counters.stamps_backwards += 1
                    return []
                self.counters.time_resets += 1
                self._images.clear()
                self._radars.clear()
                self._radar_intervals.clear()
                self._last_stamp.clear()
            if queue is self._radars and last is not None and stamp > last:
                self._radar_intervals.append(stamp - last)
            self._last_stamp[id(queue)] = stamp
            queue.append((stamp, msg, now))
            while len(queue) > self.queue_size:
                queue.popleft()
                self.counters.queue_overflow += 1
            return self._match(now)

    def _decidable(self, image_stamp: float, distance: float, waited: float) -> bool:
        latest = self._radars[-1][0] if self._radars else None
        if latest is not None and latest >= image_stamp:
            return True
        period = self.radar_period()
        if latest is not None and period is not None and latest + period - image_stamp >= distance:
            return True
        if waited >= self.max_wait:
            self.counters.decided_by_max_wait += 1
            return True
        return False

    def _match(self, now: float) -> list[tuple[Any, Any]]:
        pairs = []
        while self._images:
            image_stamp, image, arrival = self._images[0]
            distances = [abs(stamp - image_stamp) for stamp, _, _ in self._radars]
            best = min(range(len(distances)), key=distances.__getitem__, default=None)
            distance = distances[best] if best is not None else float("inf")
            if not self._decidable(image_stamp, distance, now - arrival):
                break
            self._images.popleft()
            if distance > self.slop:
                self.counters.images_unmatched += 1
                continue
            radar = self._radars[best][1]
            for _ in range(best + 1):
                self._radars.popleft()
            pairs.append((image, radar))
            self.counters.pairs += 1
        return pairs
