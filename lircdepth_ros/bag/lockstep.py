"""Lockstep pacing of the player: each camera frame waits for the node's depth answer to
that camera's previous frame, and the start waits until the depth node is up and matched
on every topic it subscribes."""

from __future__ import annotations

import logging

from rclpy.node import NodeNameNonExistentError

from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.ros_runtime import message_class, reliable_qos, spin_until

LOG = logging.getLogger(__name__)


class DepthAnswers:
    """Stamps (ns) of the depth images the node has published on one topic, for lockstep."""

    def __init__(self, node, topic: str):
        self.stamps: set[int] = set()
        self.subscription = node.create_subscription(
            message_class(m.IMAGE),
            topic,
            lambda msg: self.stamps.add(m.stamp_to_nanoseconds(msg.header.stamp)),
            reliable_qos(),
        )


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
    return all_known_matched(node, [p for p in publishers if p.topic_name in wanted])


def all_known_matched(node, publishers: list) -> bool:
    """Each publisher is matched with every subscriber the ROS graph knows on its topic.

    Why: subscribers of one process are matched topic by topic; the images being matched
    while /tf is still in discovery loses the first poses (volatile QoS).
    """
    return all(
        p.get_subscription_count() >= len(node.get_subscriptions_info_by_topic(p.topic_name))
        for p in publishers
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
                self.answers[topic].subscription.topic_name,
                stamp,
                self.timeout,
            )
            self.silent.add(topic)

    def sent_frame(self, topic: str, stamp: int) -> None:
        self.pending[topic] = stamp

    def finish(self) -> None:
        """Wait for the last frame of every stream."""
        for topic in list(self.pending):
            self.before_frame(topic)

    def restart(self) -> None:
        """Forget the answers (a looped bag sends the same stamps again)."""
        self.pending.clear()
        for answer in self.answers.values():
            answer.stamps.clear()
