"""Replay any ROS 2 bag (MCAP or sqlite3) through rclpy without rosbag2.

Messages go out as the raw CDR bytes stored in the bag (rclpy publishes serialized data
as is), so stamps and contents are exactly the recording's. Three pacings: recorded
speed, a rate factor, or lockstep (each camera frame, raw Image or CompressedImage, waits
for the node's depth output for the previous one, of the same camera when each camera
has its own depth topic, so a slow CPU node sees every frame). `clock` publishes /clock
(the bag time of each message) for nodes with use_sim_time; `loops` replays the bag
again (0 = until stopped). Topics the depth node publishes itself (/diagnostics) are
moved under /bag unless remapped (see `play_plan`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from rclpy.duration import Duration

from lircdepth.bagdata import CAMERA_TYPES, BagData, open_bag
from lircdepth.bagdata.checks import MessageTally
from lircdepth.errors import JobError, UsageError
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.lockstep import (
    DepthAnswers,
    Lockstep,
    all_known_matched,
    inputs_matched,
    served_images,
)
from lircdepth_ros.bag.play_plan import TopicPlan, check_remap_sources, plan_topics
from lircdepth_ros.bag.ros_runtime import (
    message_class,
    recorded_qos,
    reliable_qos,
    ros_node,
    spin_until,
)
from lircdepth_ros.bag.topics import CAMERA_FIELD

LOG = logging.getLogger(__name__)
ACK_TIMEOUT = 2.0
CLOCK = "rosgraph_msgs/msg/Clock"


@dataclass
class PlayOptions:
    """How to replay. rate: speed factor (ignored with lockstep). remap: bag topic ->
    published topic (sources must be in the bag). topics: only these bag topics.
    depth_topic: the node's depth output for lockstep (`{camera}` = each image topic's
    camera). wait_for_subscribers: seconds to wait first for image subscribers (lockstep:
    for the depth node and its other subscriptions; none at all is an error). clock:
    publish /clock. loops: times to play the bag (0 = until stopped). keep_collisions:
    publish bag topics the node also publishes (/diagnostics) under their own name.
    paced_cameras: the cameras lockstep waits for (default every camera of the bag; the
    others are published without waiting and not counted as answered)."""

    rate: float | None = None
    lockstep: bool = False
    remap: Mapping[str, str] = field(default_factory=dict)
    depth_topic: str = "depth"
    lockstep_timeout: float = 30.0
    wait_for_subscribers: float = 5.0
    topics: list[str] | None = None
    domain_id: int | None = None
    clock: bool = False
    loops: int = 1
    keep_collisions: bool = False
    paced_cameras: list[str] | None = None


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
    notes: list[str] = field(default_factory=list)
    loops: int = 0
    skipped: str | None = None  # messages recorded but unreadable (damaged storage file)
    max_lateness: float = 0.0  # s a message was published after its place on the timeline

    @property
    def speed(self) -> float:
        return self.bag_seconds / self.wall_seconds if self.wall_seconds > 0 else float("inf")


def node_remap(camera: str = "CAM_FRONT", radar: str = "RADAR_FRONT", bag=None) -> dict[str, str]:
    """Bag topics -> the node's default input topics (image, camera_info, radar).

    Without `bag`: the project's layout. With a bag: its topics for that camera (a
    CompressedImage goes to `image/compressed`, the node's `transport:=compressed` topic)
    and radar; a camera or radar the bag lacks is a one-line UsageError."""
    if bag is None:
        return {
            f"/{camera}/image_rgb": "image",
            f"/{camera}/camera_info": "camera_info",
            f"/{radar}": "radar",
        }
    data = bag if isinstance(bag, BagData) else BagData(bag)
    cameras, radars = data.sensors.cameras, data.sensors.clouds()
    if camera not in cameras or radar not in radars:
        raise UsageError(
            f"--to-node: bag {data.path} has no {'camera ' + camera if camera not in cameras else 'radar ' + radar} "
            f"(cameras: {', '.join(cameras) or 'none'}; clouds: {', '.join(radars) or 'none'})"
        )
    topics = cameras[camera]
    remap = {
        topics.image_topic: "image/compressed" if topics.compressed else "image",
        radars[radar]: "radar",
    }
    if topics.info_topic:
        remap[topics.info_topic] = "camera_info"
    return remap


def play_bag(bag: str | Path, options: PlayOptions | None = None, **overrides) -> PlaybackStats:
    """Publish a bag's messages in recorded order; returns what was achieved.

    Options as `PlayOptions` (or its fields as keywords)."""
    options = replace(options or PlayOptions(), **overrides)
    if options.rate is not None and not options.rate > 0:
        raise UsageError(f"--rate must be positive, got {options.rate}")
    if options.loops < 0:
        raise UsageError(
            f"--loop must be 0 (until stopped) or a positive count, got {options.loops}"
        )
    with open_bag(bag) as reader:
        connections = select_connections(reader, bag, options)
        with ros_node("lircdepth_bag_player", options.domain_id) as (node, executor):
            player = Player(node, executor, connections, options, bag)
            player.start()
            for round_ in itertools.count(1) if options.loops == 0 else range(1, options.loops + 1):
                tally = MessageTally(bag)  # per round: what this pass could not read
                player.play_round(tally.messages(reader, connections), round_)
            stats = player.finish()
            stats.skipped = tally.skipped(connections)
            return stats


def select_connections(reader, bag, options: PlayOptions) -> list:
    topics = {c.topic for c in reader.connections}
    check_remap_sources(options.remap, topics, bag)
    if options.topics is not None:
        missing = sorted(set(options.topics) - topics)
        if missing:
            raise UsageError(f"bag {bag} lacks topics {missing}")
    connections = [
        c for c in reader.connections if options.topics is None or c.topic in options.topics
    ]
    if options.lockstep and not any(c.msgtype in CAMERA_TYPES for c in connections):
        raise UsageError(
            f"--lockstep paces on camera frames, but bag {bag} has no sensor_msgs/Image or "
            f"CompressedImage topic (topics: {', '.join(sorted(topics))})"
        )
    return connections


class Player:
    """One replay: publishers per the topic plan, the optional /clock and lockstep."""

    def __init__(self, node, executor, connections, options: PlayOptions, bag):
        self.node, self.executor, self.options, self.bag = node, executor, options, bag
        self.stats = PlaybackStats()
        self.plan: TopicPlan = plan_topics(connections, options.remap, options.keep_collisions)
        for note in self.plan.notes:
            LOG.warning("%s", note)
        self.stats.notes = list(self.plan.notes)
        self.stats.skipped_topics = sorted(t for ts in self.plan.missing_types.values() for t in ts)
        qos = {c.id: recorded_qos(c) for c in connections}
        self.publishers = {
            i: node.create_publisher(self.plan.classes[i], topic, qos[i])
            for i, topic in self.plan.outputs.items()
        }
        self.clock = (
            node.create_publisher(message_class(CLOCK), "/clock", reliable_qos(10))
            if options.clock
            else None
        )
        self.frame_cameras = self.plan.cameras
        wanted = options.paced_cameras
        self.cameras = {i: c for i, c in self.plan.cameras.items() if wanted is None or c in wanted}
        self.depth_of = {
            i: options.depth_topic.replace(CAMERA_FIELD, c) for i, c in self.cameras.items()
        }
        self.answers = (
            {t: DepthAnswers(node, t) for t in set(self.depth_of.values())}
            if options.lockstep
            else {}
        )
        self.step = Lockstep(executor, self.answers, options.lockstep_timeout)
        self.paced = set(self.cameras)
        self.answered: dict[int, int] = dict.fromkeys(self.cameras, 0)
        self.sent: dict[int, set[int]] = {i: set() for i in self.cameras}
        self.start_wall = time.monotonic()

    def served(self) -> set[int]:
        """Image connections whose depth node is up (lockstep waits for those only)."""
        ids = set()
        for topic, answer in self.answers.items():
            group = [i for i in self.cameras if self.depth_of[i] == topic]
            up = served_images(self.node, answer, [self.publishers[i] for i in group])
            ids |= {i for i in group if self.publishers[i] in up}
        return ids

    def ready(self) -> bool:
        if self.options.lockstep:
            return self.served() == set(self.cameras) and all(
                inputs_matched(self.node, answer, list(self.publishers.values()))
                for answer in self.answers.values()
            )
        images = all(self.publishers[i].get_subscription_count() for i in self.cameras)
        return images and all_known_matched(self.node, list(self.publishers.values()))

    def start(self) -> None:
        """Wait for the subscribers (see `PlayOptions.wait_for_subscribers`)."""
        wait = self.options.wait_for_subscribers
        ready = spin_until(self.executor, self.ready, wait)
        self.start_wall = time.monotonic()
        if ready:
            return
        if not self.options.lockstep:
            LOG.warning("no subscriber on some image topics after %.1f s; publishing anyway", wait)
            return
        self.paced = self.served()
        if not self.paced:  # every frame would wait for nothing
            raise JobError(
                f"no depth node publishing {' or '.join(sorted(self.answers))} and subscribing "
                f"the images after {wait:.0f} s (--wait-for-subscribers)",
                hint="start lircdepth_node first, or check --depth-topic and the remaps",
            )
        LOG.warning(
            "no depth node serves %s; publishing those images without waiting",
            ", ".join(sorted(self.cameras[i] for i in set(self.cameras) - self.paced)),
        )

    def play_round(self, messages, round_: int) -> None:
        """Publish the bag once, paced as asked."""
        if round_ > 1:
            self.step.restart()
            self.sent = {i: set() for i in self.cameras}
        first_stamp, last_stamp, round_wall = None, None, time.monotonic()
        for connection, timestamp, raw in messages:
            if connection.id not in self.publishers:
                continue
            first_stamp = timestamp if first_stamp is None else first_stamp
            self.pace(connection.id, (timestamp - first_stamp) / 1e9, round_wall)
            if self.clock is not None:
                self.publish_clock(timestamp)
            self.publishers[connection.id].publish(bytes(raw))
            self.stats.messages += 1
            last_stamp = timestamp
            if connection.id in self.frame_cameras:
                self.count_frame(connection, raw)
        if first_stamp is not None:
            self.stats.bag_seconds += (last_stamp - first_stamp) / 1e9
        self.stats.loops = round_
        self.end_round()

    def pace(self, connection_id: int, bag_offset: float, round_wall: float) -> None:
        if self.options.lockstep:
            if connection_id in self.paced:
                self.step.before_frame(self.depth_of[connection_id])
            return
        target = round_wall + bag_offset / (self.options.rate or 1.0)
        spin_until(
            self.executor, lambda: time.monotonic() >= target, max(target - time.monotonic(), 0.0)
        )
        self.stats.max_lateness = max(self.stats.max_lateness, time.monotonic() - target)

    def publish_clock(self, timestamp: int) -> None:
        clock = message_class(CLOCK)()
        clock.clock.sec, clock.clock.nanosec = divmod(int(timestamp), 1_000_000_000)
        assert self.clock is not None  # the caller publishes only with a clock publisher
        self.clock.publish(clock)

    def count_frame(self, connection, raw: bytes) -> None:
        camera = self.frame_cameras[connection.id]
        self.stats.frames += 1
        self.stats.frames_per_camera[camera] = self.stats.frames_per_camera.get(camera, 0) + 1
        if self.options.lockstep and connection.id in self.cameras:
            stamp = m.stamp_to_nanoseconds(m.deserialize(raw, connection.msgtype).header.stamp)
            self.sent[connection.id].add(stamp)
            if connection.id in self.paced:
                self.step.sent_frame(self.depth_of[connection.id], stamp)

    def end_round(self) -> None:
        if not self.options.lockstep:
            return
        self.step.finish()
        for i, stamps in self.sent.items():
            self.answered[i] += len(stamps & self.answers[self.depth_of[i]].stamps)

    def finish(self) -> PlaybackStats:
        stats = self.stats
        if self.options.lockstep:
            for i, answered in self.answered.items():
                stats.answered_per_camera[self.cameras[i]] = answered
                stats.frames_answered += answered
                if not answered:
                    stats.cameras_silent.append(self.cameras[i])
        stats.wall_seconds = time.monotonic() - self.start_wall
        for publisher in self.publishers.values():  # reliable delivery finishes before shutdown
            publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT))
        return stats
