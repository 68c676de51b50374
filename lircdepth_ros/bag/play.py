"""Replay a ROS 2 bag through rclpy without rosbag2.

Messages go out as the raw CDR bytes stored in the bag (rclpy publishes serialized data
as is), so stamps and contents are exactly the recording's. Three pacings: recorded
speed, a rate factor, or lockstep (each camera frame waits for the node's depth output
for the previous one, so a slow CPU node sees every frame).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rclpy.duration import Duration

from lircdepth.errors import JobError, UsageError
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.ground_truth import open_bag
from lircdepth_ros.bag.ros_runtime import (
    message_class,
    recorded_qos,
    reliable_qos,
    ros_node,
    spin_until,
)

LOG = logging.getLogger(__name__)
ACK_TIMEOUT = 2.0


@dataclass
class PlaybackStats:
    """What a replay did; `speed` is bag seconds per wall second."""

    messages: int = 0
    bag_seconds: float = 0.0
    wall_seconds: float = 0.0
    frames: int = 0
    frames_answered: int = 0
    skipped_topics: list[str] = field(default_factory=list)

    @property
    def speed(self) -> float:
        return self.bag_seconds / self.wall_seconds if self.wall_seconds > 0 else float("inf")


def node_remap(camera: str = "CAM_FRONT", radar: str = "RADAR_FRONT") -> dict[str, str]:
    """Bag topics -> the node's default input topics (image, camera_info, radar)."""
    from lircdepth_ros.bag.convert import camera_info_topic, image_topic, point_cloud_topic

    return {
        image_topic(camera): "image",
        camera_info_topic(camera): "camera_info",
        point_cloud_topic(radar): "radar",
    }


def _publishers(node, connections, remap: Mapping[str, str], stats: PlaybackStats) -> dict:
    publishers = {}
    for connection in connections:
        try:
            cls = message_class(connection.msgtype)
        except ImportError as error:
            LOG.warning("not publishing %s: %s", connection.topic, error)
            stats.skipped_topics.append(connection.topic)
            continue
        topic = remap.get(connection.topic, connection.topic)
        publishers[connection.id] = node.create_publisher(cls, topic, recorded_qos(connection))
    return publishers


class DepthAnswers:
    """Stamps (ns) of the depth images the node has published, for lockstep pacing."""

    def __init__(self, node, topic: str):
        self.stamps: set[int] = set()
        self.subscription = node.create_subscription(
            message_class(m.IMAGE), topic, lambda msg: self.stamps.add(m.stamp_to_nanoseconds(msg.header.stamp)),
            reliable_qos(),
        )  # fmt: skip


def depth_node_ready(node, answers: DepthAnswers, image_publishers: list) -> bool:
    """The depth node itself is up: one node both publishes the depth topic and subscribes
    every image topic, and DDS has matched our ends with it.

    Why not any subscriber: a `ros2 topic hz` or rviz on the image topic would start the
    replay before the node listens, and lockstep would lose the first frame.
    """
    if answers.subscription.get_publisher_count() == 0:
        return False
    nodes = {
        (i.node_namespace, i.node_name)
        for i in node.get_publishers_info_by_topic(answers.subscription.topic_name)
    }
    for publisher in image_publishers:
        nodes &= {
            (i.node_namespace, i.node_name)
            for i in node.get_subscriptions_info_by_topic(publisher.topic_name)
        }
    return bool(nodes) and all(p.get_subscription_count() for p in image_publishers)


def play_bag(
    bag: str | Path,
    rate: float | None = None,
    lockstep: bool = False,
    remap: Mapping[str, str] | None = None,
    depth_topic: str = "depth",
    lockstep_timeout: float = 30.0,
    wait_for_subscribers: float = 5.0,
    topics: list[str] | None = None,
    domain_id: int | None = None,
) -> PlaybackStats:
    """Publish a bag's messages in recorded order; returns what was achieved.

    rate: speed factor (1 = recorded speed, 2 = twice as fast); ignored with lockstep.
    remap: bag topic -> published topic. topics: only these bag topics (default all).
    wait_for_subscribers: seconds to wait first for a subscriber on every image topic (with
    lockstep: for the depth node itself, see `depth_node_ready`).
    """
    if rate is not None and not rate > 0:
        raise UsageError(f"--rate must be positive, got {rate}")
    rate = rate or 1.0
    remap = dict(remap or {})
    stats = PlaybackStats()
    with open_bag(bag) as reader, ros_node("lircdepth_bag_player", domain_id) as (node, executor):
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        if topics and len({c.topic for c in connections}) < len(set(topics)):
            raise KeyError(
                f"bag {bag} lacks topics {sorted(set(topics) - {c.topic for c in connections})}"
            )
        publishers = _publishers(node, connections, remap, stats)
        image_ids = {c.id for c in connections if c.msgtype == m.IMAGE and c.id in publishers}
        answers = DepthAnswers(node, depth_topic) if lockstep else None
        image_publishers = [publishers[i] for i in image_ids]

        def ready() -> bool:
            if lockstep:
                return depth_node_ready(node, answers, image_publishers)
            return all(p.get_subscription_count() for p in image_publishers)

        if not spin_until(executor, ready, wait_for_subscribers):
            if lockstep:  # every frame would wait lockstep_timeout for nothing
                raise JobError(
                    f"no depth node publishing {depth_topic} and subscribing the images after "
                    f"{wait_for_subscribers:.0f} s (--wait-for-subscribers)",
                    hint="start lircdepth_node first, or check --depth-topic and the remaps",
                )
            LOG.warning(
                "no subscriber on some image topics after %.1f s; publishing anyway",
                wait_for_subscribers,
            )
        pending: int | None = None
        start_wall = time.monotonic()
        first_stamp: int | None = None
        for connection, timestamp, raw in reader.messages(connections=connections):
            if connection.id not in publishers:
                continue
            first_stamp = timestamp if first_stamp is None else first_stamp
            is_frame = connection.id in image_ids
            if lockstep and is_frame and pending is not None:
                stats.frames_answered += _await_answer(executor, answers, pending, lockstep_timeout)
            elif not lockstep:
                target = start_wall + (timestamp - first_stamp) / 1e9 / rate
                spin_until(
                    executor,
                    lambda t=target: time.monotonic() >= t,
                    max(target - time.monotonic(), 0.0),
                )
            publishers[connection.id].publish(bytes(raw))
            stats.messages += 1
            stats.bag_seconds = (timestamp - first_stamp) / 1e9
            if is_frame:
                stats.frames += 1
                pending = m.stamp_to_nanoseconds(
                    m.deserialize(raw, connection.msgtype).header.stamp
                )
        if lockstep and pending is not None:
            stats.frames_answered += _await_answer(executor, answers, pending, lockstep_timeout)
        stats.wall_seconds = time.monotonic() - start_wall
        for publisher in publishers.values():  # reliable delivery finishes before shutdown
            publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT))
    return stats


def _await_answer(executor, answers: DepthAnswers, stamp: int, timeout: float) -> bool:
    if spin_until(executor, lambda: stamp in answers.stamps, timeout):
        return True
    LOG.warning(
        "no depth output for the frame stamped %d ns within %.1f s; going on", stamp, timeout
    )
    return False
