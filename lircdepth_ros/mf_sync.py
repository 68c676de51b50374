"""message_filters' ApproximateTimeSynchronizer as the node's pairing (`sync.method:
message_filters`), for users who want the stock ROS policy.

It differs from the project's sync (lircdepth_ros/sync.py): it pairs an arrival with the
first partner within the slop rather than the nearest sweep, and it counts no drops. The
node's own subscriptions feed it (after their input checks) through plain filters, one
per stream; with several radars it pairs an image with one sweep of every radar.
"""

from __future__ import annotations

import threading

from rclpy.duration import Duration

try:
    import message_filters
except ImportError:
    message_filters = None


class MessageFiltersPairing:
    """(image, {radar stream: sweep}) from message_filters, returned by the `add` that
    completed them (the interface of pairing.py)."""

    def __init__(
        self,
        slop: float,
        queue_size: int,
        radars: tuple[str, ...] = ("radar",),
    ) -> None:
        if message_filters is None:
            raise ImportError(
                "parameter 'sync.method' = 'message_filters' needs the message_filters "
                "package, which is not importable here (use sync.method:=project)"
            )
        streams = ("image", *radars)
        self._inputs = {stream: message_filters.SimpleFilter() for stream in streams}
        self._sync = message_filters.ApproximateTimeSynchronizer(
            [self._inputs[stream] for stream in streams], queue_size, slop
        )
        self._decided: list = []
        self._lock = threading.Lock()
        self._sync.registerCallback(
            lambda image, *sweeps: self._decided.append(
                (image, dict(zip(radars, sweeps, strict=True)))
            )
        )

    def add(self, stream: str, msg) -> list:
        """Feed one accepted message of `stream` ("image" or a radar stream); the pairs it
        completed (message_filters calls back within this call)."""
        with self._lock:
            self._inputs[stream].signalMessage(msg)
            pairs, self._decided = self._decided, []
        return pairs

    def expire(self) -> list:
        """Nothing: message_filters decides only when messages arrive."""
        return []

    def configure(self, slop: float, queue_size: int, max_wait: float = 0.0) -> None:
        """New sync.slop / sync.queue_size at run time (message_filters has no max_wait)."""
        with self._sync.lock:
            self._sync.slop = Duration(seconds=slop)
            self._sync.queue_size = queue_size

    def counts(self) -> dict[str, float]:
        """None: message_filters does not count its drops."""
        return {}
