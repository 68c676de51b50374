"""message_filters' ApproximateTimeSynchronizer as the node's pairing (`sync.method:
message_filters`), for users who want the stock ROS policy.

It differs from the project's sync (lircdepth_ros/sync.py): it pairs an arrival with the
first partner within the slop rather than the nearest sweep, and it counts no drops. The
node's own subscriptions feed it (after their input checks) through plain filters, one
per stream; with several radars it pairs an image with one sweep of every radar.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.duration import Duration

try:
    import message_filters
except ImportError:
    message_filters = None


class MessageFiltersPairing:
    """(image, {radar stream: sweep}) from message_filters, handed to `on_pairs` as a
    one-pair list (the shape of `RigSync`'s results)."""

    def __init__(
        self,
        slop: float,
        queue_size: int,
        on_pairs: Callable[[list], None],
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
        self._sync.registerCallback(
            lambda image, *sweeps: on_pairs([(image, dict(zip(radars, sweeps, strict=True)))])
        )

    def add(self, stream: str, msg) -> None:
        """Feed one accepted message of `stream` ("image" or a radar stream)."""
        self._inputs[stream].signalMessage(msg)

    def configure(self, slop: float, queue_size: int) -> None:
        """New sync.slop / sync.queue_size at run time."""
        with self._sync.lock:
            self._sync.slop = Duration(seconds=slop)
            self._sync.queue_size = queue_size
