"""The rclpy plumbing the player and the evaluator share: a private context, message
classes by type name, QoS from a bag's recorded offer, and a clock-driven wait loop."""

from __future__ import annotations

import importlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rosbags.interfaces import QosDurability

from lircdepth.bagdata.messages import TF_MESSAGE
from lircdepth.resources import shipped_file
from lircdepth_ros.compat import apply_profile
from lircdepth_ros.qos import reliable_qos


def use_shared_memory_transport() -> None:
    """Point Fast DDS at the project's shared-memory profile (camera-size images between
    processes), unless the user chose a profile. Fast DDS reads it once per process, at
    the first DDS participant: code that runs the player or evaluator in a process that
    already made an rclpy context must set the profile before that (else the player sends
    camera images through the default 512 KiB segment; under load a node with the profile
    got none for 20 s). Under the name the installed Fast DDS reads: see compat.py."""
    apply_profile(shipped_file("config/fastdds_shm.xml"))


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (`kill`, systemd, `docker stop`) ends the process through its `with` blocks,
    as Ctrl-C does. Killed outright, a process leaves its Fast DDS shared-memory segment
    (64 MiB of RAM in /dev/shm with the project's profile) behind for good; rclpy only
    catches SIGTERM for its default context, not for the private ones these tools use."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def ros_node(
    name: str, domain_id: int | None = None
) -> Iterator[tuple[Node, SingleThreadedExecutor]]:
    """A node in its own rclpy context (several tools or tests in one process never share
    state), shut down on exit, SIGTERM included."""
    use_shared_memory_transport()
    with sigterm_unwinds():
        context = rclpy.Context()
        rclpy.init(context=context, domain_id=domain_id)
        node = Node(name, context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        try:
            yield node, executor
        finally:
            executor.shutdown()
            node.destroy_node()
            context.try_shutdown()


def message_class(msgtype: str):
    """The rclpy message class of 'pkg/msg/Name'; ImportError names the missing package."""
    package, _, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as error:
        raise ImportError(f"ROS message type {msgtype} is not installed ({error})") from error


# Unacknowledged samples a replay keeps of a TF topic: at the recording's depth (often 10) a
# subscriber stalled a quarter second by a loaded machine loses /tf samples of a fast replay
# (measured: 1 of 74 under Jazzy on a loaded CI machine). TF messages are small; sensor
# topics keep the recording's depth (their samples are large; a depth of 100 for them too
# coincided with a Jazzy replay delayed by seconds, not understood, so not kept).
REPLAY_TF_DEPTH = 100


def recorded_qos(connection) -> QoSProfile:
    """Reliable QoS with the durability the recording offered (latched /tf_static) and its
    depth, at least `REPLAY_TF_DEPTH` for TF topics."""
    offered = list(getattr(connection.ext, "offered_qos_profiles", []) or [])
    latched = connection.topic == "/tf_static"
    depth = 10
    if offered:
        latched = offered[0].durability == QosDurability.TRANSIENT_LOCAL
        depth = max(int(offered[0].depth), 1)
    if connection.msgtype == TF_MESSAGE:
        depth = max(depth, REPLAY_TF_DEPTH)
    return reliable_qos(depth, latched=latched)


def spin_until(
    executor: SingleThreadedExecutor, condition: Callable[[], bool], timeout: float
) -> bool:
    """Serve callbacks until `condition()` holds or `timeout` seconds pass; the final verdict."""
    deadline = time.monotonic() + timeout
    while not condition():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        executor.spin_once(timeout_sec=min(remaining, 0.05))
    return True
