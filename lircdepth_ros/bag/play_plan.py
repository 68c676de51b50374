"""What the player publishes, decided before anything is sent: each bag topic's output
name (remaps, collisions with the node's own topics), the camera topics (raw and
compressed), and the topics left out because their message package is not installed."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from lircdepth.bagdata import CAMERA_TYPES
from lircdepth.bagdata.sensors import camera_name
from lircdepth.errors import UsageError
from lircdepth_ros.bag.ros_runtime import message_class

LOG = logging.getLogger(__name__)
# Topics a lircdepth node publishes itself (plus ROS's own): a bag's messages there would
# mix with the node's (community nuScenes bags carry CAN bus statuses on /diagnostics).
NODE_OWN_TOPICS = ("/diagnostics", "/rosout", "/parameter_events")
COLLISION_PREFIX = "/bag"


@dataclass
class TopicPlan:
    """connection id -> published topic; camera connections -> camera name."""

    outputs: dict[int, str] = field(default_factory=dict)
    classes: dict[int, type] = field(default_factory=dict)
    cameras: dict[int, str] = field(default_factory=dict)
    missing_types: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def check_remap_sources(remap: Mapping[str, str], topics: Collection[str], bag) -> None:
    """Every remap source must be a topic of the bag (one line naming the missing ones)."""
    missing = sorted(set(remap) - set(topics))
    if missing:
        raise UsageError(
            f"bag {bag} has no topic {', '.join(missing)} to remap (topics: {', '.join(sorted(topics))})",
            hint="check --remap / --to-node --camera/--radar against `ros2 bag info`",
        )


def output_topic(
    topic: str, remap: Mapping[str, str], keep_collisions: bool, plan: TopicPlan
) -> str:
    if topic in remap:
        return remap[topic]
    if topic in NODE_OWN_TOPICS and not keep_collisions:
        moved = COLLISION_PREFIX + topic
        plan.notes.append(
            f"bag topic {topic} is published as {moved}: the depth node publishes its own {topic} "
            f"(--remap {topic}:=NAME to choose, --keep-collisions to publish it as recorded)"
        )
        return moved
    return topic


def plan_topics(connections, remap: Mapping[str, str], keep_collisions: bool = False) -> TopicPlan:
    """The plan for these bag connections; message types without a Python package are
    left out and listed once (type -> topics)."""
    plan = TopicPlan()
    classes: dict[str, type | None] = {}
    for connection in connections:
        if connection.msgtype not in classes:
            try:
                classes[connection.msgtype] = message_class(connection.msgtype)
            except ImportError:
                classes[connection.msgtype] = None
        cls = classes[connection.msgtype]
        if cls is None:
            plan.missing_types.setdefault(connection.msgtype, []).append(connection.topic)
            continue
        plan.classes[connection.id] = cls
        plan.outputs[connection.id] = output_topic(connection.topic, remap, keep_collisions, plan)
        if connection.msgtype in CAMERA_TYPES:
            plan.cameras[connection.id] = camera_name(connection.topic)
    if plan.missing_types:
        listed = "; ".join(
            f"{t} ({', '.join(sorted(set(ts)))})" for t, ts in sorted(plan.missing_types.items())
        )
        plan.notes.append(f"not published, message package not installed: {listed}")
    return plan
