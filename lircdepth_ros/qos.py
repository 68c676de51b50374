"""The QoS profiles the package builds in more than one place, defined once.

`reliable_qos(depth, latched=True)` is the latched profile of `/tf_static` and of a
calibration published once (transient local: a late subscriber still gets the last
sample); `latched=False` the plain reliable one of tools and tests.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def reliable_qos(depth: int = 10, latched: bool = False) -> QoSProfile:
    """Reliable, keep-last `depth`; transient local (latched) on request."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def latched_qos(depth: int = 1) -> QoSProfile:
    """The latched profile: `/tf_static`, a CameraInfo published once."""
    return reliable_qos(depth, latched=True)
