"""The launch file as ROS users drive it (real `ros2 launch`): several instances told apart
by `namespace`/`node_name` (topics, /diagnostics status name), `log_level`, and SIGTERM to
`ros2 launch` ending the node (launch itself exits on SIGTERM without stopping it), and a
CameraInfo latched (transient local) before the node started reaching it.

Runs the worktree's own launch file by path, where the ROS tools are importable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import launch_ros  # noqa: F401
    import psutil
    import ros2cli  # noqa: F401
except ImportError as missing:
    pytest.skip(f"real ROS 2 tools not importable ({missing.name})", allow_module_level=True)

from test.helpers.ros_env import ROS2, ros2_until_seen, sourced_env, spawn, wait_for_text

pytestmark = pytest.mark.ros

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "lircdepth.launch.py"
READY_TIMEOUT = 180.0
NAMESPACE, NAME = "/car_a", "depth_a"


def _peer(ros_tools, env, log: Path, *args: str) -> subprocess.Popen:
    script = ros_tools.peer.with_name("ros_latched_peer.py")
    command = [sys.executable, str(script), *args, "--ros-args", "-r", f"__ns:={NAMESPACE}"]
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def launched(student_checkpoint, synth_root, ros_tools, tmp_path_factory):
    from types import SimpleNamespace

    env = sourced_env()
    folder = tmp_path_factory.mktemp("launch")
    log = folder / "launch.log"
    # The calibration is latched before the node exists.
    latch = _peer(ros_tools, env, folder / "latch.log", "latch", str(synth_root))
    wait_for_text(folder / "latch.log", "latched", latch, 60)
    command = [
        ROS2,
        "launch",
        str(LAUNCH_FILE),
        f"checkpoint:={student_checkpoint}",
        "device:=cpu",
        f"namespace:={NAMESPACE}",
        f"node_name:={NAME}",
        "log_level:=debug",
    ]
    process = spawn(command, env, log)
    node = None
    try:
        wait_for_text(log, "ready:", process, READY_TIMEOUT)
        (node,) = psutil.Process(process.pid).children()
        yield SimpleNamespace(
            env=env, log=log, process=process, node=node, folder=folder, synth_root=synth_root
        )
    finally:
        latch.terminate()
        try:  # the peer's exit is not under test: a loaded machine may take longer
            latch.wait(timeout=30)
        except subprocess.TimeoutExpired:
            latch.kill()
            latch.wait()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=60)
        if node is not None and node.is_running():
            node.kill()


def test_namespace_node_name_and_log_level(launched):
    echo = subprocess.run(
        # with the type: the daemon may not have discovered the topic yet
        [
            ROS2,
            "topic",
            "echo",
            "--once",
            "--timeout",
            "30",
            "/diagnostics",
            "diagnostic_msgs/msg/DiagnosticArray",
        ],
        env=launched.env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    subprocess.run([ROS2, "daemon", "stop"], env=launched.env, capture_output=True, timeout=30)
    assert f"name: '{NAMESPACE}/{NAME}: depth'" in echo.stdout, echo.stdout + echo.stderr
    text = launched.log.read_text()
    assert f"[{NAMESPACE[1:]}.{NAME}]: ready:" in text, text  # the logger names the instance
    assert f"inputs {NAMESPACE}/image, {NAMESPACE}/radar" in text
    assert "[DEBUG]" in text  # log_level:=debug reached the node


def test_camera_info_latched_before_the_node_started_reaches_it(launched, ros_tools):
    out = launched.folder / "latched.json"
    log = launched.folder / "frames.log"
    frames = _peer(ros_tools, launched.env, log, "frames", str(launched.synth_root), str(out))
    assert frames.wait(timeout=180) == 0, log.read_text()
    assert json.loads(out.read_text())["answered"], launched.log.read_text()
    assert "incompatible QoS" not in launched.log.read_text()


def test_sigterm_to_ros2_launch_ends_the_node(launched):
    launched.process.terminate()  # `kill PID` of ros2 launch only, as a supervisor does
    launched.process.wait(timeout=30)
    try:
        launched.node.wait(timeout=30)
    except psutil.TimeoutExpired:
        launched.node.kill()
        pytest.fail(f"node left running after ros2 launch ended:\n{launched.log.read_text()}")


# --- managed (lifecycle) node -------------------------------------------------------------


def _lifecycle(env, *args: str) -> str:
    """`ros2 lifecycle ...` on the node, run again while discovery has not seen it."""
    return ros2_until_seen(env, "lifecycle", *args, patience=60)


def test_managed_node_configure_activate_deactivate_cleanup(
    student_checkpoint, synth_root, ros_tools, tmp_path
):
    env = sourced_env()
    log = tmp_path / "node.log"
    params = [f"checkpoint:={student_checkpoint}", "device:=cpu", "backend:=torch"]
    command = [sys.executable, "-m", "lircdepth_ros.launcher", "--managed"]
    command += [x for p in params for x in ("-p", p)]
    node = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        assert "unconfigured [1]" in _lifecycle(env, "get", "/lircdepth_node"), log.read_text()
        assert "loading" not in log.read_text()  # the model waits for configure
        assert "successful" in _lifecycle(env, "set", "/lircdepth_node", "configure")
        assert "ready:" in log.read_text()
        assert "inactive [2]" in _lifecycle(env, "get", "/lircdepth_node")
        assert "successful" in _lifecycle(env, "set", "/lircdepth_node", "activate")
        assert "active [3]" in _lifecycle(env, "get", "/lircdepth_node")
        answered = subprocess.run(
            [sys.executable, str(ros_tools.peer), "publish", str(synth_root), "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert "answered 1 of 1 frames" in answered.stdout, answered.stdout + log.read_text()
        assert "successful" in _lifecycle(env, "set", "/lircdepth_node", "deactivate")
        assert "inactive [2]" in _lifecycle(env, "get", "/lircdepth_node")
        assert "successful" in _lifecycle(env, "set", "/lircdepth_node", "cleanup")
        assert "unconfigured [1]" in _lifecycle(env, "get", "/lircdepth_node")
        assert "cleaned up: model freed" in log.read_text()
        assert node.poll() is None, log.read_text()
        node.send_signal(signal.SIGINT)
        assert node.wait(timeout=30) == 0, log.read_text()
    finally:
        subprocess.run([ROS2, "daemon", "stop"], env=env, capture_output=True, timeout=30)
        if node.poll() is None:
            node.kill()
            node.wait()
