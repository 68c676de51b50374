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


def isolated_env(shm_profile: bool = True) -> dict[str, str]:
    """Environment for child processes: own domain, the shipped Fast DDS profile (or none)."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(next(_DOMAINS) % 100 + 1))
    env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
    if shm_profile:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.fixture
def ros_env() -> dict[str, str]:
    return isolated_env()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A child Python process with output in `log` (read it on failure)."""
    return subprocess.Popen(
        [sys.executable, *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def node_args(checkpoint: Path, *params: str) -> list[str]:
    extra = [x for p in params for x in ("-p", p)]
    return ["-m", "lircdepth_ros.node", "-p", f"checkpoint:={checkpoint}", *extra]


def stop(*processes: subprocess.Popen | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def live_node(student_checkpoint, tmp_path_factory):
    """One running node (CPU, fast diagnostics) shared by a test module; its log on failure."""
    from types import SimpleNamespace

    env = isolated_env()
    log = tmp_path_factory.mktemp("live_node") / "node.log"
    process = start(
        # backend torch: the exactness test compares with the torch estimator (auto may pick
        # another engine, equal only to ~1e-5).
        node_args(
            student_checkpoint,
            "device:=cpu",
            "backend:=torch",
            "diagnostics.period:=0.2",
            "tf.wait:=1.0",
        ),
        env,
        log,
    )
    yield SimpleNamespace(env=env, log=log, process=process)
    stop(process)


@pytest.fixture(scope="session")
def ros_tools():
    """The helpers above, for test modules (importlib mode cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        start=start, node_args=node_args, peer=PEER, stop=stop, isolated_env=isolated_env
    )
