"""Fixtures for tests that run real rclpy processes: an isolated ROS_DOMAIN_ID each."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEER = Path(__file__).with_name("ros_peer.py")
PROFILE = REPO / "config" / "fastdds_shm.xml"
# Domains 0-101 are safe; spread by process id so parallel sessions rarely collide.
_DOMAINS = itertools.count(20 + os.getpid() % 60)


@pytest.fixture
def ros_env() -> dict[str, str]:
    """Environment for child processes: own domain, the shipped Fast DDS profile."""
    env = dict(
        os.environ,
        ROS_DOMAIN_ID=str(next(_DOMAINS) % 100 + 1),
        FASTDDS_DEFAULT_PROFILES_FILE=str(PROFILE),
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A child Python process with output in `log` (read it on failure)."""
    return subprocess.Popen(
        [sys.executable, *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def node_args(checkpoint: Path, *params: str) -> list[str]:
    extra = [x for p in params for x in ("-p", p)]
    return ["-m", "lircdepth_ros.node", "-p", f"checkpoint:={checkpoint}", *extra]


@pytest.fixture
def ros_tools():
    """The helpers above, for test modules (importlib mode cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(start=start, node_args=node_args, peer=PEER)
