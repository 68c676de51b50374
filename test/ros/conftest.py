"""Fixtures for tests that run real rclpy processes: an isolated ROS_DOMAIN_ID each
(the scheme and the process helpers: test/helpers/ros_env.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from test.helpers.ros_env import isolated_env, node_args, start, start_cpu_node, stop

PEER = Path(__file__).with_name("ros_peer.py")


@pytest.fixture
def ros_env() -> dict[str, str]:
    return isolated_env()


@pytest.fixture(scope="module")
def live_node(student_checkpoint, tmp_path_factory):
    """One running node (CPU, fast diagnostics) shared by a test module; its log on failure."""
    from types import SimpleNamespace

    env = isolated_env()
    log = tmp_path_factory.mktemp("live_node") / "node.log"
    process = start_cpu_node(
        student_checkpoint, env, log, "diagnostics.period:=0.2", "tf.wait:=1.0"
    )
    yield SimpleNamespace(env=env, log=log, process=process)
    stop(process)


@pytest.fixture(scope="session")
def ros_tools():
    """The process helpers and the peer script as one fixture (a test module may also import
    them from test/helpers/ros_env.py; a conftest it cannot import)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        start=start,
        node_args=node_args,
        start_cpu_node=start_cpu_node,
        peer=PEER,
        stop=stop,
        isolated_env=isolated_env,
    )
