"""The newest unprocessed pair of every camera, handed to the worker as one batch.

Why a bounded gather: the cameras of a rig fire within a few tens of milliseconds of each
other, so the worker waits (at most `batch.wait` after the first fresh pair) for the other
live cameras and runs them in one forward; a camera that is late, silent, or waiting for
its CameraInfo or TF never holds the others longer than that. Pure threading, no ROS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    """One camera's synchronised pair: its image and the radar sweeps to project into it."""

    camera: int
    image: Any
    sweeps: list
    queued: float  # monotonic seconds when the pair was decided
    streams: list[str] = field(default_factory=list)  # the radar stream of each sweep
    retry: bool = False  # put back: waiting for its CameraInfo or TF
    tf_deadline: float | None = None  # monotonic seconds; set at the first TF miss


class PendingFrames:
    """One slot per camera; a newer pair replaces an older one the worker has not taken."""

    def __init__(self, cameras: int, condition: threading.Condition | None = None) -> None:
        self._slots: list[Job | None] = [None] * cameras
        self.condition = condition or threading.Condition()

    def put(self, job: Job) -> bool:
        """Queue a fresh pair; True when it replaced (superseded) an older one."""
        with self.condition:
            superseded = self._slots[job.camera] is not None
            self._slots[job.camera] = job
            self.condition.notify_all()
        return superseded

    def put_back(self, job: Job) -> bool:
        """Return a pair to retry later; False (not queued) when a newer pair is waiting."""
        with self.condition:
            if self._slots[job.camera] is not None:
                return False
            job.retry = True
            self._slots[job.camera] = job
        return True

    def take(
        self,
        expected: Callable[[], Collection[int]],
        wait: Callable[[], float],
        retry_period: float,
        running: Callable[[], bool],
    ) -> list[Job] | None:
        """Block until there is work, then return every pending pair; None once stopped.

        With a fresh pair, wait until each `expected` camera has one, or `wait()` seconds
        after the oldest fresh pair was decided. With only pairs put back to retry, return
        them after `retry_period` (earlier if a fresh pair comes).
        """
        with self.condition:
            while running():
                jobs = [job for job in self._slots if job is not None]
                fresh = [job for job in jobs if not job.retry]
                if not jobs:
                    self.condition.wait()
                    continue
                if not fresh:
                    if self.condition.wait_for(
                        lambda: not running() or self._has_fresh(), retry_period
                    ):
                        continue
                    return self._take_all()
                deadline = min(job.queued for job in fresh) + wait()
                self.condition.wait_for(
                    lambda: not running() or self._all_present(expected()),
                    max(0.0, deadline - time.monotonic()),
                )
                return self._take_all() if running() else None
            return None

    def _has_fresh(self) -> bool:
        return any(job is not None and not job.retry for job in self._slots)

    def _all_present(self, cameras: Collection[int]) -> bool:
        return all(self._slots[camera] is not None for camera in cameras)

    def _take_all(self) -> list[Job]:
        jobs = [job for job in self._slots if job is not None]
        self._slots = [None] * len(self._slots)
        return jobs

    def notify(self) -> None:
        """Wake the worker (a CameraInfo arrived, or the node stops)."""
        with self.condition:
            self.condition.notify_all()
