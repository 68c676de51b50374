"""Approximate-time pairing of camera images with radar sweeps by header stamp.

Why our own: message_filters is not on PyPI, and the node needs the counts that
message_filters does not give (pairs dropped beyond the slop, stamps going backwards).
Rule: each image is paired with the radar sweep nearest in time if |dt| <= slop; the
decision waits until a radar sweep at or after the image stamp has arrived (so radar
may lag or lead), and each sweep is used at most once. Queues hold `queue_size`
messages per stream; the oldest is dropped (and counted) beyond that.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# A stamp earlier than the last one by more than this is a restart (bag loop), not jitter.
TIME_RESET_SECONDS = 1.0


@dataclass
class SyncCounters:
    pairs: int = 0
    images_unmatched: int = 0
    queue_overflow: int = 0
    stamps_backwards: int = 0
    time_resets: int = 0


@dataclass
class ApproximateTimeSync:
    """Pairs (stamp, message) events from two streams; not tied to ROS (pure, testable)."""

    slop: float = 0.05
    queue_size: int = 10
    counters: SyncCounters = field(default_factory=SyncCounters)

    def __post_init__(self) -> None:
        if self.slop < 0 or self.queue_size < 1:
            raise ValueError(
                f"slop must be >= 0 and queue_size >= 1, got {self.slop}, {self.queue_size}"
            )
        self._images: deque[tuple[float, Any]] = deque()
        self._radars: deque[tuple[float, Any]] = deque()
        self._last_stamp: dict[int, float] = {}
        self._lock = threading.Lock()

    def add_image(self, stamp: float, msg: Any) -> list[tuple[Any, Any]]:
        """Queue an image; return the (image, radar) pairs that became final."""
        return self._add(self._images, stamp, msg)

    def add_radar(self, stamp: float, msg: Any) -> list[tuple[Any, Any]]:
        """Queue a radar sweep; return the (image, radar) pairs that became final."""
        return self._add(self._radars, stamp, msg)

    def _add(self, queue: deque, stamp: float, msg: Any) -> list[tuple[Any, Any]]:
        with self._lock:
            last = self._last_stamp.get(id(queue))
            if last is not None and stamp < last:
                if last - stamp <= TIME_RESET_SECONDS:
                    self.counters.stamps_backwards += 1
                    return []
                self.counters.time_resets += 1
                self._images.clear()
                self._radars.clear()
                self._last_stamp.clear()
            self._last_stamp[id(queue)] = stamp
            queue.append((stamp, msg))
            if len(queue) > self.queue_size:
                queue.popleft()
                self.counters.queue_overflow += 1
            return self._match()

    def _match(self) -> list[tuple[Any, Any]]:
        pairs = []
        while self._images and self._radars:
            image_stamp, image = self._images[0]
            if self._radars[-1][0] < image_stamp:
                break  # a later sweep may still come closer to this image
            best = min(
                range(len(self._radars)), key=lambda i: abs(self._radars[i][0] - image_stamp)
            )
            self._images.popleft()
            if abs(self._radars[best][0] - image_stamp) > self.slop:
                self.counters.images_unmatched += 1
                continue
            radar = self._radars[best][1]
            for _ in range(best + 1):
                self._radars.popleft()
            pairs.append((image, radar))
            self.counters.pairs += 1
        return pairs
