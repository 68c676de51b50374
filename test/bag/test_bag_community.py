"""Issue 21's done-when test: a bag in the community nuscenes2bag layout (compressed
cameras, packed 43-byte radar, /tf only at 2 Hz, /diagnostics) made by `bag convert
--layout nuscenes2bag` from the synthetic full-rig world, replayed by `bag play
--lockstep` into a real lircdepth_node and scored by `bag evaluate`, all in real processes.

Every camera image gets one depth image; every keyframe is scored; each frame's score
equals the offline evaluation of the same checkpoint on the same frames: the estimator on
the bag's decoded JPEG with the radar sweep nearest the image (within sync.slop), brought
into the camera through the bag's /tf at the two stamps, scored by the same ground-truth
rule. Tolerance as the other bag tests (float rounding of the forward).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lircdepth.bagdata import BagData
from lircdepth.errors import UsageError
from lircdepth.geometry import invert_transform, project_radar, transform_points
from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS
from lircdepth_ros.bag.play import play_bag
from lircdepth_ros.bag.scoring import score_rig
from test.helpers.ros_env import full_rig_params

pytestmark = pytest.mark.ros
SLOP_NS = 50_000_000  # the node's default sync.slop
RADAR_FEATURES = ("rcs", "vx", "vy")  # the node's default fields, offline's raw velocity rows


def lircdepth(*args, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m lircdepth *args` run to its end in `env`, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "lircdepth", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def community_bag(full_rig_root, tmp_path_factory):
    """`lircdepth bag convert --layout nuscenes2bag` of one full-rig scene (a real process)."""
    out = tmp_path_factory.mktemp("community")
    convert = ["bag", "convert", "--dataroot", str(full_rig_root), "--out", str(out)]
    rig = ["--scenes", "synth-0000", "--layout", "nuscenes2bag", "--cameras", "all"]
    subprocess.run(
        [sys.executable, "-m", "lircdepth", *convert, *rig, "--radars", "all"],
        check=True,
        capture_output=True,
    )
    return out / "synth-0000"


def radar_sweeps(data: BagData, radar: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """stamp -> (N x 3 xyz, N x 3 features), dropped and zeroed as the node does."""
    sweeps = {}
    for cloud in data.clouds(radar):
        fields = cloud.fields(["x", "y", "z", *RADAR_FEATURES], dtype=np.float64)
        xyz = np.stack([fields["x"], fields["y"], fields["z"]], 1)
        features = np.stack([fields[k] for k in RADAR_FEATURES], 1)
        finite = np.isfinite(xyz).all(1)
        sweeps[cloud.stamp] = (
            xyz[finite],
            np.nan_to_num(features[finite], nan=0.0, posinf=0.0, neginf=0.0),
        )
    return sweeps


def offline_depth(bag, checkpoint, cameras, radars) -> dict[str, dict[int, np.ndarray]]:
    """The estimator on each camera keyframe with the radar the node pairs with it."""
    from lircdepth.inference import DepthEstimator

    data = BagData(bag)
    estimator = DepthEstimator.from_checkpoint(checkpoint, device="cpu", backend="torch")
    sweeps = {radar: radar_sweeps(data, radar) for radar in radars}
    keyframes = data.keyframes(cameras)
    depth = {}
    for camera in cameras:
        infos, depth[camera] = data.camera_infos(camera), {}
        for frame in data.images(camera, {k.stamps[camera] for k in keyframes}):
            model = infos[frame.stamp]
            camera_from_map = invert_transform(data.map_from_sensor(frame.frame_id, frame.stamp))
            points = [np.zeros((0, 6))]
            for radar in radars:
                nearest = min(sweeps[radar], key=lambda t: abs(t - frame.stamp))
                if abs(nearest - frame.stamp) <= SLOP_NS:
                    xyz, features = sweeps[radar][nearest]
                    T = camera_from_map @ data.map_from_sensor(radar, nearest)
                    points.append(
                        project_radar(transform_points(T, xyz), features, model.camera_matrix)
                    )
            depth[camera][frame.stamp] = estimator.estimate(frame.rgb, np.concatenate(points)).depth
    return depth


def run_replay(
    bag, node_params, play_args, evaluate_args, env, start_process, wait_for_file, tmp_path
):
    """Node, evaluator and player, each its own process; the player's and evaluator's outputs.
    node_params after a "--ros-args" entry go to ROS as they are."""
    split = node_params.index("--ros-args") if "--ros-args" in node_params else len(node_params)
    own = [a for p in node_params[:split] for a in ("-p", p)]
    start_process(["-m", "lircdepth_ros.launcher", *own, *node_params[split:]], env)
    ready, out = tmp_path / "evaluator.ready", tmp_path / "online.json"
    evaluate = ["-m", "lircdepth", "bag", "evaluate", "--bag", str(bag), "--ready-file", str(ready)]
    limits = ["--json", str(out), "--idle-timeout", "30", "--timeout", "400"]
    evaluator = start_process([*evaluate, *limits, *evaluate_args], env)
    wait_for_file(ready, timeout=240)
    play = ["bag", "play", bag, "--lockstep", "--wait-for-subscribers", "60"]
    player = lircdepth(*play, "--lockstep-timeout", "30", *play_args, env=env, timeout=400)
    assert player.returncode == 0, player.stderr
    assert evaluator.wait(timeout=200) == 0
    return player.stdout + player.stderr, json.loads(out.read_text())


def assert_scores_equal(online: dict, expected: dict, cameras) -> None:
    for camera in cameras:
        offline_frames = {f["stamp_ns"]: f for f in expected["cameras"][camera]["per_frame"]}
        online_frames = (
            online["cameras"][camera]["per_frame"] if "cameras" in online else online["per_frame"]
        )
        assert sorted(f["stamp_ns"] for f in online_frames) == sorted(offline_frames), camera
        for frame in online_frames:
            want = offline_frames[frame["stamp_ns"]]
            np.testing.assert_allclose(frame["mae"], want["mae"], rtol=1e-5, err_msg=camera)
            np.testing.assert_allclose(frame["rmse"], want["rmse"], rtol=1e-5, err_msg=camera)


def test_front_camera_and_radar_of_a_community_bag(
    community_bag, student_checkpoint, tmp_path, ros_env, start_process, wait_for_file
):
    """Two commands as the README gives them: `bag play --to-node --clock` and the node with
    `transport:=compressed` and `use_sim_time`."""
    node_params = [
        f"checkpoint:={student_checkpoint}",
        "device:=cpu",
        "backend:=torch",
        "frames.fixed:=map",
        "transport:=compressed",
        "sync.max_wait:=2.0",
        "--ros-args",
        "-p",
        "use_sim_time:=true",
    ]
    log, online = run_replay(
        community_bag,
        node_params,
        ["--to-node", "--clock"],
        ["--cameras", "CAM_FRONT"],
        ros_env,
        start_process,
        wait_for_file,
        tmp_path,
    )
    assert (
        "18 camera frames, 3 answered" in log and "answered per camera: CAM_FRONT 3/3\n" in log
    ), log
    assert "no depth from" not in log and "without waiting" not in log, log
    assert "/diagnostics is published as /bag/diagnostics" in log
    assert online["frames_expected"] == online["frames_scored"] == 3, online
    expected = score_rig(
        community_bag,
        offline_depth(community_bag, student_checkpoint, ["CAM_FRONT"], ["RADAR_FRONT"]),
    )
    assert_scores_equal(online, expected, ["CAM_FRONT"])
    offline_mae = expected["cameras"]["CAM_FRONT"]["metrics"]["80"]["mae"]
    print(f"CAM_FRONT: MAE online {online['metrics']['80']['mae']:.6f} offline {offline_mae:.6f}")
    np.testing.assert_allclose(online["metrics"]["80"]["mae"], offline_mae, rtol=1e-5)


@pytest.mark.slow
def test_six_cameras_of_a_community_bag(
    community_bag, student_checkpoint, tmp_path, ros_env, start_process, wait_for_file
):
    depth_topic = "/{camera}/depth"
    node_params = [
        *full_rig_params(student_checkpoint),
        "topics.image:=/{camera}/image_rect_compressed",
        "topics.camera_info:=/{camera}/camera_info",
        f"topics.depth:={depth_topic}",
        "topics.radar:=/{radar}",
        "sync.max_wait:=2.0",
    ]
    log, online = run_replay(
        community_bag,
        node_params,
        ["--depth-topic", depth_topic],
        ["--depth-topic", depth_topic],
        ros_env,
        start_process,
        wait_for_file,
        tmp_path,
    )
    assert "18 camera frames, 18 answered" in log, log
    assert (
        online["cameras_silent"] == []
        and online["frames_scored"] == online["frames_expected"] == 18
    )
    expected = score_rig(
        community_bag, offline_depth(community_bag, student_checkpoint, FULL_CAMERAS, FULL_RADARS)
    )
    assert_scores_equal(online, expected, FULL_CAMERAS)
    print(
        f"rig: MAE online {online['metrics']['80']['mae']:.6f} offline {expected['metrics']['80']['mae']:.6f}"
    )
    np.testing.assert_allclose(
        online["metrics"]["80"]["mae"], expected["metrics"]["80"]["mae"], rtol=1e-5
    )


def test_lockstep_refuses_a_bag_without_camera(community_bag):
    with pytest.raises(UsageError, match="--lockstep paces on camera frames, but bag .* has no"):
        play_bag(community_bag, lockstep=True, topics=["/LIDAR_TOP", "/tf"])


def test_player_refusals_are_one_line(community_bag, tmp_path, ros_env):
    """A remap source or a --to-node camera the bag lacks: exit 2, one line."""

    def play(*args):
        return lircdepth("bag", "play", community_bag, *args, env=ros_env)

    unknown = play("--lockstep", "--remap", "/CAM_TOP/image:=image")
    assert unknown.returncode == 2 and "has no topic /CAM_TOP/image to remap" in unknown.stderr
    missing = play("--to-node", "--camera", "CAM_TOP")
    assert missing.returncode == 2 and "has no camera CAM_TOP" in missing.stderr
    assert len([line for line in missing.stderr.splitlines() if "error:" in line]) == 1


def test_clock_loop_and_diagnostics_collision(
    community_bag, tmp_path, ros_env, start_process, wait_for_file
):
    """`--clock --loop 2`: /clock carries each message's bag time and jumps back once; the
    bag's /diagnostics goes out on /bag/diagnostics, not on the node's /diagnostics."""
    out = tmp_path / "received.json"
    specs = [
        "/clock=rosgraph_msgs/msg/Clock",
        "/bag/diagnostics=diagnostic_msgs/msg/DiagnosticArray",
        "/diagnostics=diagnostic_msgs/msg/DiagnosticArray",
        "/CAM_FRONT/image_rect_compressed=sensor_msgs/msg/CompressedImage",
    ]
    recorder = start_process(
        [str(Path(__file__).parent / "topic_recorder.py"), str(out), "3", *specs], ros_env
    )
    wait_for_file(Path(f"{out}.ready"))
    play = ["bag", "play", community_bag, "--rate", "2", "--clock", "--loop", "2"]
    player = lircdepth(*play, "--wait-for-subscribers", "20", env=ros_env)
    assert player.returncode == 0, player.stderr
    missing = "not published, message package not installed: visualization_msgs/msg/MarkerArray (/markers/annotations)"
    assert player.stderr.count(missing) == 1 or importlib.util.find_spec("visualization_msgs"), (
        player.stderr
    )
    recorder.wait(timeout=60)
    received = json.loads(out.read_text())
    by_topic = {
        t: [r["stamp"] for r in received if r["topic"] == t]
        for t, _, _ in (s.partition("=") for s in specs)
    }
    data = BagData(community_bag)
    published = [t for t in data.topics if t != "/markers/annotations"]
    log_times = sorted(log for _, log, _ in data.messages(published))
    clock = by_topic["/clock"]
    assert sorted(set(clock)) == sorted(set(log_times))
    jumps = [i for i in range(1, len(clock)) if clock[i] < clock[i - 1]]
    assert len(jumps) == 1 and clock[jumps[0]] == log_times[0], "one jump back, to the start"
    assert len(by_topic["/CAM_FRONT/image_rect_compressed"]) == 6
    assert len(by_topic["/bag/diagnostics"]) == 6 and by_topic["/diagnostics"] == []


def bag_without(source: Path, out: Path, dropped: set[str]) -> Path:
    """A copy of a bag without some topics (the raw messages of the others as they are)."""
    from rosbags.rosbag2 import Reader, Writer

    from lircdepth.bagdata import messages as m

    with Reader(source) as reader, Writer(out, version=9) as writer:
        kept = [c for c in reader.connections if c.topic not in dropped]
        connections = {
            c.id: writer.add_connection(c.topic, c.msgtype, typestore=m.TYPESTORE) for c in kept
        }
        for connection, log_time, raw in reader.messages(connections=kept):
            writer.write(connections[connection.id], log_time, raw)
    return out


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ({"/LIDAR_TOP"}, "records no point cloud LIDAR_TOP"),
        ({"/tf"}, "has neither /tf nor /tf_static"),
        ({"/CAM_FRONT/camera_info"}, "has no CameraInfo for camera CAM_FRONT"),
    ],
)
def test_evaluate_names_a_missing_topic_in_one_line(
    community_bag, tmp_path, ros_env, dropped, message
):
    bag = bag_without(community_bag, tmp_path / "bag", dropped)
    evaluate = ["bag", "evaluate", "--bag", bag, "--cameras", "CAM_FRONT", "--node-timeout", "1"]
    result = lircdepth(*evaluate, env=ros_env)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1
