"""The rclpy plumbing the player and the evaluator share: a private context, message
classes by type name, QoS from a bag's recorded offer, and a clock-driven wait loop."""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import QosDurability

from lircdepth.resources import shipped_file


def use_shared_memory_transport() -> None:
    """Point Fast DDS at the project's shared-memory profile (camera-size images between
    processes), unless the user chose a profile; must run before the context starts."""
    profile = shipped_file("config/fastdds_shm.xml")
    if profile is not None:
        os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(profile))


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


def reliable_qos(depth: int = 10, latched: bool = False) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def recorded_qos(connection) -> QoSProfile:
    """Reliable QoS with the durability and depth the recording offered (latched /tf_static)."""
    offered = list(getattr(connection.ext, "offered_qos_profiles", []) or [])
    if not offered:
        return reliable_qos(latched=connection.topic == "/tf_static")
    first = offered[0]
    return reliable_qos(
        max(int(first.depth), 1), latched=first.durability == QosDurability.TRANSIENT_LOCAL
    )


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
