"""Replay a ROS 2 bag through rclpy without rosbag2.

Messages go out as the raw CDR bytes stored in the bag (rclpy publishes serialized data
as is), so stamps and contents are exactly the recording's. Three pacings: recorded
speed, a rate factor, or lockstep (each camera frame waits for the node's depth output
for the previous one, of the same camera when each camera has its own depth topic, so a
slow CPU node sees every frame).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rclpy.duration import Duration
from rclpy.node import NodeNameNonExistentError

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
from lircdepth_ros.bag.topics import CAMERA_FIELD, camera_of_image_topic

LOG = logging.getLogger(__name__)
ACK_TIMEOUT = 2.0


@dataclass
class PlaybackStats:
    """What a replay did; `speed` is bag seconds per wall second. Per camera (image topic's
    camera): frames sent and answered; `cameras_silent`: cameras whose depth stopped coming
    (lockstep no longer waited for them)."""

    messages: int = 0
    bag_seconds: float = 0.0
    wall_seconds: float = 0.0
    frames: int = 0
    frames_answered: int = 0
    skipped_topics: list[str] = field(default_factory=list)
    frames_per_camera: dict[str, int] = field(default_factory=dict)
    answered_per_camera: dict[str, int] = field(default_factory=dict)
    cameras_silent: list[str] = field(default_factory=list)

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
    """Stamps (ns) of the depth images the node has published on one topic, for lockstep."""

    def __init__(self, node, topic: str):
        self.stamps: set[int] = set()
        self.subscription = node.create_subscription(
            message_class(m.IMAGE), topic, lambda msg: self.stamps.add(m.stamp_to_nanoseconds(msg.header.stamp)),
            reliable_qos(),
        )  # fmt: skip


def served_images(node, answers: DepthAnswers, image_publishers: list) -> list:
    """The image publishers a depth node serves: one node both publishes the depth topic
    and subscribes the image topic, and DDS has matched our ends with it.

    Why not any subscriber: a `ros2 topic hz` or rviz on the image topic would start the
    replay before the node listens, and lockstep would lose the first frame.
    """
    if answers.subscription.get_publisher_count() == 0:
        return []
    nodes = {
        (i.node_namespace, i.node_name)
        for i in node.get_publishers_info_by_topic(answers.subscription.topic_name)
    }
    return [
        p
        for p in image_publishers
        if p.get_subscription_count()
        and nodes
        & {
            (i.node_namespace, i.node_name)
            for i in node.get_subscriptions_info_by_topic(p.topic_name)
        }
    ]


def inputs_matched(node, answers: DepthAnswers, publishers: list) -> bool:
    """Every publisher on a topic the depth node subscribes (radars, /tf, CameraInfo) is
    matched with each subscriber known there, the depth node's included.

    Why: the images being matched says nothing of the other topics; a radar or /tf
    publisher still in discovery would lose the first sweeps and poses (volatile), so the
    first frames would pair without them or be skipped for TF.
    """
    depth_nodes = {
        (i.node_namespace, i.node_name)
        for i in node.get_publishers_info_by_topic(answers.subscription.topic_name)
    }
    wanted = set()
    for namespace, name in depth_nodes:
        try:
            topics = node.get_subscriber_names_and_types_by_node(name, "/" + namespace.strip("/"))
        except NodeNameNonExistentError:  # its endpoints are known before the node itself
            return False
        wanted |= {topic for topic, _ in topics}
    return all(
        p.get_subscription_count() >= len(node.get_subscriptions_info_by_topic(p.topic_name))
        for p in publishers
        if p.topic_name in wanted
    )


class Lockstep:
    """Each camera frame waits for the node's depth for that camera's previous frame.

    Cameras answered on one depth topic (the single-camera node) wait for each other, as
    one stream; with a depth topic per camera the cameras are in flight together, so a rig
    node can batch them. A camera that misses one answer is not waited for again (until it
    answers), so a dead camera costs one timeout, not one per frame.
    """

    def __init__(self, executor, answers: dict[str, DepthAnswers], timeout: float):
        self.executor, self.answers, self.timeout = executor, answers, timeout
        self.pending: dict[str, int] = {}
        self.silent: set[str] = set()

    def before_frame(self, topic: str) -> None:
        stamp = self.pending.get(topic)
        if stamp is None:
            return
        if stamp in self.answers[topic].stamps:
            self.silent.discard(topic)
        elif topic not in self.silent and not spin_until(
            self.executor, lambda: stamp in self.answers[topic].stamps, self.timeout
        ):
            LOG.warning(
                "no depth on %s for the frame stamped %d ns within %.1f s; not waiting for it "
                "until it answers again",
                self.answers[topic].subscription.topic_name, stamp, self.timeout,
            )  # fmt: skip
            self.silent.add(topic)

    def sent_frame(self, topic: str, stamp: int) -> None:
        self.pending[topic] = stamp

    def finish(self) -> None:
        """Wait for the last frame of every stream."""
        for topic in list(self.pending):
            self.before_frame(topic)


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
    depth_topic: the node's depth output for lockstep; `{camera}` in it stands for the
    camera of each image topic (`/CAM_BACK/image_rgb` -> CAM_BACK), for a rig node.
    wait_for_subscribers: seconds to wait first for a subscriber on every image topic (with
    lockstep: for the depth node itself, see `served_images`, and for its
    radar, /tf and CameraInfo subscriptions, see `inputs_matched`; cameras whose depth node is
    not there by then are published without waiting, none at all is an error).
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
        cameras = {
            c.id: camera_of_image_topic(c.topic)
            for c in connections
            if c.msgtype == m.IMAGE and c.id in publishers
        }
        depth_of = {i: depth_topic.replace(CAMERA_FIELD, camera) for i, camera in cameras.items()}
        answers = {t: DepthAnswers(node, t) for t in set(depth_of.values())} if lockstep else {}

        def served() -> set[int]:
            """Image connections whose depth node is up (lockstep waits for those only)."""
            ids = set()
            for topic, answer in answers.items():
                group = [i for i in cameras if depth_of[i] == topic]
                up = served_images(node, answer, [publishers[i] for i in group])
                ids |= {i for i in group if publishers[i] in up}
            return ids

        def ready() -> bool:
            if lockstep:
                return served() == set(cameras) and all(
                    inputs_matched(node, answer, list(publishers.values()))
                    for answer in answers.values()
                )
            return all(publishers[i].get_subscription_count() for i in cameras)

        paced = set(cameras)
        if not spin_until(executor, ready, wait_for_subscribers):
            if lockstep:
                paced = served()
                if not paced:  # every frame would wait for nothing
                    raise JobError(
                        f"no depth node publishing {' or '.join(sorted(answers))} and subscribing "
                        f"the images after {wait_for_subscribers:.0f} s (--wait-for-subscribers)",
                        hint="start lircdepth_node first, or check --depth-topic and the remaps",
                    )
                LOG.warning(
                    "no depth node serves %s; publishing those images without waiting",
                    ", ".join(sorted(cameras[i] for i in set(cameras) - paced)),
                )
            else:
                LOG.warning(
                    "no subscriber on some image topics after %.1f s; publishing anyway",
                    wait_for_subscribers,
                )
        step = Lockstep(executor, answers, lockstep_timeout)
        sent: dict[int, set[int]] = {i: set() for i in cameras}
        start_wall = time.monotonic()
        first_stamp: int | None = None
        for connection, timestamp, raw in reader.messages(connections=connections):
            if connection.id not in publishers:
                continue
            first_stamp = timestamp if first_stamp is None else first_stamp
            is_frame = connection.id in cameras
            waits = lockstep and connection.id in paced
            if waits:
                step.before_frame(depth_of[connection.id])
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
                camera = cameras[connection.id]
                stats.frames += 1
                stats.frames_per_camera[camera] = stats.frames_per_camera.get(camera, 0) + 1
            if lockstep and is_frame:
                stamp = m.stamp_to_nanoseconds(m.deserialize(raw, connection.msgtype).header.stamp)
                sent[connection.id].add(stamp)
                if waits:
                    step.sent_frame(depth_of[connection.id], stamp)
        if lockstep:
            step.finish()
            for i, stamps in sent.items():
                answered = len(stamps & answers[depth_of[i]].stamps)
                stats.answered_per_camera[cameras[i]] = answered
                stats.frames_answered += answered
                if not answered:
                    stats.cameras_silent.append(cameras[i])
        stats.wall_seconds = time.monotonic() - start_wall
        for publisher in publishers.values():  # reliable delivery finishes before shutdown
            publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT))
    return stats
