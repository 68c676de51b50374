"""Latched calibration: a CameraInfo published once with transient-local durability before
the node started must still reach it.

The node's CameraInfo subscription is volatile (sensor data), so it gets no sample sent
before it existed. A transient-local subscription would, but it is incompatible with the
usual volatile publishers, and both ends would then log QoS warnings. So a second
subscription is made only once a publisher on the topic offers transient-local durability
(`poll`, on a timer, until one is made), with that publisher's reliability.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from rclpy.subscription import Subscription

POLL_SECONDS = 0.5


class LatchedSubscription:
    """A transient-local subscription to `topic`, made when a latching publisher appears."""

    def __init__(self, node: Node, msg_type, topic: str, callback: Callable) -> None:
        self._node, self._type, self._callback = node, msg_type, callback
        self.topic = node.resolve_topic_name(topic)
        self.subscription: Subscription | None = None

    def poll(self) -> None:
        if self.subscription is not None:
            return
        for info in self._node.get_publishers_info_by_topic(self.topic):
            qos = info.qos_profile
            if qos.durability == DurabilityPolicy.TRANSIENT_LOCAL:
                self.subscription = self._node.create_subscription(
                    self._type,
                    self.topic,
                    self._callback,
                    QoSProfile(
                        depth=1,
                        reliability=qos.reliability,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL,
                    ),
                    # another, volatile publisher may join later: the volatile subscription
                    # serves it, so the mismatch here is expected, not a fault to log
                    event_callbacks=SubscriptionEventCallbacks(incompatible_qos=lambda _: None),
                )
                return
