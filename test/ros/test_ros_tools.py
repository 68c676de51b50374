"""The node as ROS 2 users run it, with the real tools: `ros2 launch`, `ros2 run`,
`ros2 param`, `ros2 topic hz/echo`, tf2_ros, message_filters and sensor_msgs_py.

Runs only where those tools are importable (a ROS install, or the venv after
shared/ros2-tools/install.sh). Every command is a real process in its own ROS domain.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lircdepth_ros.compat import profile_env
from test.helpers.ros_env import (
    PREFIX,
    ROS2,
    interrupt,
    ros2_until_seen,
    sourced_env,
    spawn,
    wait_for_text,
)

try:
    import launch_ros  # noqa: F401
    import message_filters  # noqa: F401
    import ros2cli  # noqa: F401
    import tf2_ros  # noqa: F401
    from sensor_msgs_py import point_cloud2
except ImportError as missing:
    pytest.skip(
        f"real ROS 2 tools not importable ({missing.name}): run shared/ros2-tools/install.sh",
        allow_module_level=True,
    )

pytestmark = pytest.mark.ros

HERE = Path(__file__).parent
READY_TIMEOUT = 180.0  # model start-up on a loaded 2-core machine
FRAMES = 4
CAMERA_REMAPS = {
    "image": "/cam/image",
    "camera_info": "/cam/info",
    "radar": "/radar_front",
    "depth": "/cam/depth",
}
OUTPUTS = ["/cam/depth", "/cam/depth/camera_info", "/cam/depth/points", "/cam/depth/colored"]
OUTPUT_REMAPS = {topic.removeprefix("/cam/"): topic for topic in OUTPUTS[:3]}
_ENVS: list[dict[str, str]] = []


def tools_env(shm_profile: bool = True) -> dict[str, str]:
    """A fresh domain, and AMENT_PREFIX_PATH/PATH as a sourced ROS setup would set them."""
    env = sourced_env(shm_profile)
    _ENVS.append(env)
    return env


@pytest.fixture(scope="module", autouse=True)
def _stop_ros2_daemons():
    """`ros2 topic`/`param` start a daemon per domain; stop the ones this module started."""
    yield
    for env in _ENVS:
        subprocess.run([ROS2, "daemon", "stop"], env=env, capture_output=True, timeout=30)


def ros2(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ROS2, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def peer(ros_tools, env, log: Path, *args: str, remaps: dict[str, str] | None = None):
    ros_args = ["--ros-args", *[x for k, v in (remaps or {}).items() for x in ("-r", f"{k}:={v}")]]
    return spawn([sys.executable, *args, *(ros_args if remaps else [])], env, log)


def write_params(path: Path, checkpoint: Path, **sections: dict) -> Path:
    import yaml

    params = {"checkpoint": str(checkpoint), "device": "cpu", **sections}
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
    return path


def param(env, name: str, *args: str) -> str:
    """`ros2 param VERB /lircdepth_node NAME ...`."""
    return ros2_until_seen(env, "param", *args[:1], "/lircdepth_node", name, *args[1:])


# --- the package is found by ros2 after scripts/setup.sh ----------------------------------------


def test_ros2_finds_the_package_in_the_venv(ros_tools):
    env = tools_env()
    prefix = ros2(env, "pkg", "prefix", "lircdepth")
    assert prefix.stdout.strip() == str(PREFIX), prefix.stdout + prefix.stderr
    executables = ros2(env, "pkg", "executables", "lircdepth").stdout.split("\n")
    assert "lircdepth lircdepth_node" in executables
    share = PREFIX / "share" / "lircdepth"
    for shipped in ("package.xml", "launch/lircdepth.launch.py", "config/lircdepth.yaml"):
        assert (share / shipped).is_file(), shipped


# --- ros2 launch with remaps and a params file (message_filters sync, tf2_ros) ---------------


@pytest.fixture(scope="module")
def launched(student_checkpoint, ros_tools, tmp_path_factory):
    """`ros2 launch lircdepth lircdepth.launch.py` with remapped topics, a params file
    (message_filters sync, every optional output) and a profile copy (to see it arrive)."""
    tmp = tmp_path_factory.mktemp("launched")
    env = tools_env(shm_profile=False)
    profile = shutil.copy(HERE.parents[1] / "config" / "fastdds_shm.xml", tmp)
    params = write_params(
        tmp / "params.yaml",
        student_checkpoint,
        sync={"method": "message_filters", "slop": 0.04},
        publish={"points": True, "colored": True},
        diagnostics={"period": 0.2},
        tf={"wait": 1.0},
        max_depth=60.0,
    )
    log = tmp / "launch.log"
    arguments = [f"{k}:={v}" for k, v in CAMERA_REMAPS.items()]
    launch = [ROS2, "launch", "lircdepth", "lircdepth.launch.py", f"params_file:={params}"]
    process = spawn([*launch, f"fastdds_profile:={profile}", *arguments], env, log)
    ready = wait_for_text(log, "ready:", process, READY_TIMEOUT)
    # Frames only go to the launch's shared-memory profile with a profile in the peers too.
    peers_env = dict(env, **profile_env(profile))
    yield SimpleNamespace(env=peers_env, log=log, ready=ready, profile=profile, tmp=tmp)
    assert interrupt(process) == 0, log.read_text()


def test_launch_remaps_params_file_and_scoped_profile(launched):
    ready = launched.ready
    assert "inputs /cam/image, /radar_front" in ready
    assert "sync message_filters" in ready and "TF tf2_ros" in ready
    assert f"Fast DDS profile={launched.profile}" in ready
    assert "Double value is: 0.04" in param(launched.env, "sync.slop", "get")


def test_param_dump_get_describe_every_parameter(launched):
    """a parameter declared without a value broke get/dump for the whole node."""
    dump = ros2_until_seen(launched.env, "param", "dump", "/lircdepth_node")
    assert "translation: []" in dump and "slop: 0.04" in dump and "method: message_filters" in dump
    assert "Double values are: []" in param(launched.env, "extrinsic.translation", "get")
    slop = param(launched.env, "sync.slop", "describe")
    assert "Min value: 0.0" in slop and "Max value: 1.0" in slop and "Read only" not in slop
    assert "Read only: true" in param(launched.env, "checkpoint", "describe")


def test_param_set_dynamic_within_range_and_read_only_refused(launched):
    """run-time parameters can be set, validated by the same ranges."""
    env = launched.env
    assert "Set parameter successful" in param(env, "sync.slop", "set", "0.045")
    assert "Double value is: 0.045" in param(env, "sync.slop", "get")
    assert "Set parameter successful" not in param(env, "sync.slop", "set", "5.0")
    assert "Double value is: 0.045" in param(env, "sync.slop", "get")
    assert "read-only" in param(env, "checkpoint", "set", "/elsewhere.pt")
    assert "Set parameter successful" in param(env, "diagnostics.period", "set", "0.25")
    assert "Set parameter successful" in param(env, "publish.colored", "set", "true")


def test_every_output_hz_echo_and_points_read_back(launched, synth_root, ros_tools):
    """Frames in over remapped topics (TF from /tf_static through tf2_ros, pairs from
    message_filters); `ros2 topic hz` and `echo` see every output; sensor_msgs_py reads
    depth/points back, and it matches the depth image."""
    env, tmp = launched.env, launched.tmp
    echo_logs = {topic: tmp / f"echo{i}.log" for i, topic in enumerate([*OUTPUTS, "/diagnostics"])}
    echoes = {
        topic: spawn([ROS2, "topic", "echo", "--once", "--no-arr", topic], env, log)
        for topic, log in echo_logs.items()
    }
    hz_log = tmp / "hz.log"
    hz = spawn([ROS2, "topic", "hz", "--window", "3", *OUTPUTS], env, hz_log)
    reader = peer(
        ros_tools,
        env,
        tmp / "reader.log",
        str(HERE / "output_reader.py"),
        str(tmp / "out.npz"),
        "120",
        remaps=OUTPUT_REMAPS,
    )
    sender = peer(
        ros_tools,
        env,
        tmp / "peer.log",
        str(ros_tools.peer),
        "publish",
        str(synth_root),
        str(FRAMES),
        remaps=CAMERA_REMAPS,
    )
    try:
        assert sender.wait(timeout=240) == 0, (tmp / "peer.log").read_text()
        assert f"answered {FRAMES} of {FRAMES}" in (tmp / "peer.log").read_text()
        assert reader.wait(timeout=60) == 0, (tmp / "reader.log").read_text()
        for topic, echo in echoes.items():
            echo.wait(timeout=30)
            assert "header:" in echo_logs[topic].read_text(), topic
        time.sleep(1.0)
    finally:
        for process in (*echoes.values(), reader, sender):
            interrupt(process)
        interrupt(hz)
    rates = hz_log.read_text()
    for topic in OUTPUTS:
        assert re.search(rf"{re.escape(topic)}\s+[0-9.]+", rates), rates

    out = np.load(tmp / "out.npz")
    depth, k, xyz = out["depth"], out["k"], out["xyz"]
    # the network predicts every pixel, so 32FC1 has no "no return" value.
    assert np.isfinite(depth).all() and (depth > 0).all()
    u, v = np.meshgrid(np.arange(depth.shape[1]), np.arange(depth.shape[0]))
    expected = np.stack(
        [(u - k[0, 2]) / k[0, 0] * depth, (v - k[1, 2]) / k[1, 1] * depth, depth], axis=-1
    )
    kept = depth <= 60.0  # max_depth: beyond it depth/points holds NaN, like depth_image_proc
    np.testing.assert_allclose(xyz[kept], expected[kept], rtol=1e-5, atol=1e-4)
    assert np.isnan(xyz[~kept]).all()
    assert out["frame_ids"][0] == out["frame_ids"][1] != ""


# --- ros2 run: the command line wins; strings as typed; diagnostics on a steady clock --------


@pytest.fixture(scope="module")
def ran(student_checkpoint, ros_tools, tmp_path_factory):
    """`ros2 run lircdepth lircdepth_node --ros-args -p ...` with sim time and no /clock."""
    log = tmp_path_factory.mktemp("ran") / "run.log"
    env = tools_env()
    overrides = [
        f"checkpoint:={student_checkpoint}",
        "device:=cpu",
        "use_sim_time:=true",
        "sync.slop:=0.04",
        "publish.points:=true",
        "radar.field_y:=y",
        "frames.fixed:=",
        "diagnostics.period:=0.3",
        "diagnostics.no_input_warning:=1.0",
    ]
    command = [ROS2, "run", "lircdepth", "lircdepth_node", "--ros-args"]
    process = spawn(command + [x for o in overrides for x in ("-p", o)], env, log)
    wait_for_text(log, "ready:", process, READY_TIMEOUT)
    yield SimpleNamespace(env=env, log=log, process=process)
    interrupt(process)


def test_ros2_run_command_line_wins_over_the_shipped_yaml(ran):
    """the shipped YAML came after --ros-args and silently won."""
    assert "Double value is: 0.04" in param(ran.env, "sync.slop", "get")
    assert "Boolean value is: True" in param(ran.env, "publish.points", "get")


def test_string_overrides_are_taken_as_typed(ran):
    """`-p radar.field_y:=y` (YAML 1.1 says true) and `-p frames.fixed:=`."""
    assert "String value is: y" in param(ran.env, "radar.field_y", "get")
    assert param(ran.env, "frames.fixed", "get").strip() == "String value is:"


def test_diagnostics_and_stale_warnings_with_sim_time_and_no_clock(ran):
    """ROS-time timers never fire under use_sim_time without /clock."""
    result = ros2(ran.env, "topic", "echo", "--once", "--timeout", "20", "/diagnostics")
    assert "hardware_id: lircdepth" in result.stdout, result.stdout + result.stderr
    assert "no image received for 1 s" in result.stdout


def test_ctrl_c_and_kill_of_ros2_run_end_the_node(student_checkpoint, ran, ros_tools, tmp_path):
    """ros2 run passes no signal on; a kill of it orphaned the node. Ctrl-C (the
    whole group) and SIGTERM to ros2 run alone must both end the node process."""
    import psutil

    (node,) = psutil.Process(ran.process.pid).children()
    assert interrupt(ran.process) == 0, ran.log.read_text()
    assert not node.is_running() or node.status() == psutil.STATUS_ZOMBIE

    log = tmp_path / "run.log"
    run = [ROS2, "run", "lircdepth", "lircdepth_node", "--ros-args"]
    command = [*run, "-p", f"checkpoint:={student_checkpoint}", "-p", "device:=cpu"]
    process = spawn(command, tools_env(), log)
    try:
        wait_for_text(log, "ready:", process, READY_TIMEOUT)
        (node,) = psutil.Process(process.pid).children()
        process.terminate()  # `kill PID` of ros2 run only, as a script or supervisor does
        process.wait(timeout=10)
        node.wait(timeout=30)
    finally:
        interrupt(process)
        if node.is_running():
            node.kill()
            raise AssertionError(f"node left running after ros2 run ended:\n{log.read_text()}")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["-p", "sync.slop:="], "parameter 'sync.slop' is given no value; expected like 0.05"),
        (["-p", "sync.slop"], "override 'sync.slop' is not of the form NAME:=VALUE"),
        (["-r", "image"], "Couldn't parse remap rule: '-r image'"),
    ],
)
def test_unusable_ros_argument_is_a_one_line_error(ros_tools, override, message):
    """`-p NAME:=` (no value) ended in a traceback from rclpy.init."""
    env = tools_env()
    command = ["run", "lircdepth", "lircdepth_node", "--ros-args", *override]
    result = ros2(env, *command)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    ours = [line for line in result.stderr.splitlines() if line.startswith("lircdepth_node")]
    assert ours == [f"lircdepth_node: error: {message}"], result.stderr


# --- the launch file scopes the Fast DDS profile to the node ----------------------------------


def test_launch_profile_does_not_leak_into_an_including_launch(ros_tools, tmp_path):
    """SetEnvironmentVariable in an included launch file reached every process
    the including one started afterwards."""
    env = tools_env(shm_profile=False)
    result = ros2(env, "launch", str(HERE / "include_lircdepth.launch.py"), timeout=180)
    output = result.stdout + result.stderr
    assert "after-include profile=unset" in output, output
    assert "lircdepth_node: error: parameter 'checkpoint': file not found" in output


# --- lockstep replay waits for the node, not for any subscriber -----------------------------


@pytest.mark.slow
def test_lockstep_play_waits_for_the_node_not_a_topic_hz(
    synth_root, student_checkpoint, ros_tools, tmp_path
):
    """a `ros2 topic hz` on the image topic started the replay before the node.
    (Slow: every one of the scene's 19 camera frames goes through the model on the CPU.)"""
    from lircdepth_ros.bag.convert import convert_scenes

    (bag,) = convert_scenes(synth_root, "v1.0-mini", tmp_path / "bags", scenes=["synth-0000"])
    env = tools_env()
    hz = spawn([ROS2, "topic", "hz", "/image"], env, tmp_path / "hz.log")
    player_log = tmp_path / "play.log"
    play = [str(PREFIX / "bin" / "lircdepth"), "bag", "play", str(bag), "--lockstep", "--to-node"]
    waits = ["--wait-for-subscribers", str(READY_TIMEOUT), "--lockstep-timeout", "60"]
    player = spawn([*play, *waits], env, player_log)
    node_log = tmp_path / "node.log"
    node = None
    try:
        time.sleep(5.0)  # the hz subscriber is matched long before the node exists
        run = [ROS2, "run", "lircdepth", "lircdepth_node", "--ros-args"]
        params = ["-p", f"checkpoint:={student_checkpoint}", "-p", "device:=cpu"]
        node = spawn([*run, *params], env, node_log)
        assert player.wait(timeout=READY_TIMEOUT + 120) == 0, player_log.read_text()
    finally:
        for process in (player, node, hz):
            if process is not None:
                interrupt(process)
    summary = re.search(r"\((\d+) camera frames, (\d+) answered\)", player_log.read_text())
    assert summary, player_log.read_text()
    frames, answered = map(int, summary.groups())
    assert frames > 0 and answered == frames, player_log.read_text() + node_log.read_text()


# --- conversions: the project's converters and sensor_msgs_py give the same arrays ----------


def test_project_and_sensor_msgs_py_clouds_give_the_same_arrays():
    from lircdepth_ros.conversions import (
        array_to_pointcloud2,
        pointcloud2_to_array,
        xyz_to_pointcloud2,
    )

    rng = np.random.default_rng(0)
    points = np.zeros(
        50, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("rcs", "f8"), ("id", "u2")]
    )
    for name in points.dtype.names:
        points[name] = rng.uniform(0, 100, 50)
    points["x"][3] = np.nan
    ours = array_to_pointcloud2(points)
    theirs = np.asarray(point_cloud2.read_points(ours, skip_nans=False)).reshape(-1)
    for name in points.dtype.names:
        np.testing.assert_array_equal(theirs[name], points[name])

    xyz = rng.normal(size=(6, 3)).astype(np.float32)
    built = point_cloud2.create_cloud_xyz32(ours.header, xyz)
    read = pointcloud2_to_array(built)
    np.testing.assert_array_equal(np.stack([read[n] for n in "xyz"], axis=1), xyz)
    mine = xyz_to_pointcloud2(xyz)
    assert bytes(mine.data) == bytes(built.data)
    assert [(f.name, f.offset, f.datatype) for f in mine.fields] == [
        (f.name, f.offset, f.datatype) for f in built.fields
    ]


# --- surround view: the shipped nuScenes rig through the launch file -------------------------


@pytest.mark.slow
def test_launch_rig_nuscenes_serves_six_cameras_and_five_radars(
    student_checkpoint, ros_tools, tmp_path
):
    env = tools_env()
    log = tmp_path / "launch.log"
    launch = [ROS2, "launch", "lircdepth", "lircdepth.launch.py"]
    process = spawn(
        [*launch, f"checkpoint:={student_checkpoint}", "device:=cpu", "rig:=nuscenes"], env, log
    )
    try:
        ready = wait_for_text(log, "ready:", process, READY_TIMEOUT)
        assert "inputs 6 cameras (/CAM_FRONT/image_rgb, /CAM_FRONT_LEFT/image_rgb" in ready, ready
        assert "radars /RADAR_FRONT, /RADAR_FRONT_LEFT, /RADAR_FRONT_RIGHT" in ready, ready
        wanted, deadline = {"/CAM_BACK/depth", "/CAM_BACK/depth/camera_info"}, time.monotonic() + 30
        while not wanted <= (topics := set(ros2(env, "topic", "list").stdout.split())):
            assert time.monotonic() < deadline, topics  # discovery has had its time
            time.sleep(1)
    finally:
        assert interrupt(process) == 0, log.read_text()
