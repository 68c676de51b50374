"""A six-camera lircdepth_node in a real process, fed a full-rig bag in lockstep and scored
online per camera: every camera answers, and each scored frame's score equals the offline
score of the estimator on the same inputs (the bag's image, every radar's nearest
sweep brought into the camera through the bag's poses, as the node is specified to pair).

The offline side picks each radar's sweep nearest the camera's stamp itself (not the
sample's radar keyframe that `prepare` uses), so the tolerance (float rounding of one
batched forward) does not depend on how `prepare` chooses side cameras' radar."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lircdepth.geometry import invert_transform, project_radar, transform_points
from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.convert import convert_scenes, image_topic, point_cloud_topic
from lircdepth_ros.bag.ground_truth import BagRecording, open_bag
from lircdepth_ros.bag.play import play_bag
from lircdepth_ros.bag.scoring import score_rig
from test.helpers.ros_env import full_rig_params

pytestmark = [pytest.mark.ros, pytest.mark.slow]
DEPTH_TOPIC = "/{camera}/depth"
SLOP_NS = 50_000_000  # the node's default sync.slop


@pytest.fixture(scope="module")
def rig_scene_bag(full_rig_root, tmp_path_factory):
    (bag,) = convert_scenes(
        full_rig_root,
        "v1.0-mini",
        tmp_path_factory.mktemp("rig_bags"),
        scenes=["synth-0000"],
        cameras=FULL_CAMERAS,
        radars=FULL_RADARS,
        radar_all_points=True,
    )
    return bag


def read_topic(bag, topic: str) -> dict[int, object]:
    with open_bag(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return {
            t: m.deserialize(raw, c.msgtype)
            for c, t, raw in reader.messages(connections=connections)
        }


def offline_depth(bag, checkpoint) -> dict[str, dict[int, np.ndarray]]:
    """The estimator on each camera keyframe with the radar the node pairs with it."""
    from lircdepth.inference import DepthEstimator

    recording = BagRecording(bag, FULL_CAMERAS)
    estimator = DepthEstimator.from_checkpoint(checkpoint, device="cpu", backend="torch")
    sweeps = {}
    for radar in FULL_RADARS:
        for stamp, cloud in read_topic(bag, point_cloud_topic(radar)).items():
            fields = m.point_cloud_fields(cloud)
            xyz = np.stack([fields["x"], fields["y"], fields["z"]], 1)
            sweeps.setdefault(radar, {})[stamp] = (
                xyz,
                np.stack([fields[k] for k in ("rcs", "vx", "vy")], 1),
            )
    depth = {}
    for camera in FULL_CAMERAS:
        images = read_topic(bag, image_topic(camera))
        depth[camera] = {}
        for sample in recording.keyframes:
            stamp = sample.stamps[camera]
            model = recording.cameras[camera][stamp]
            camera_from_map = invert_transform(recording.map_from_sensor(camera, stamp))
            points = []
            for radar in FULL_RADARS:
                nearest = min(sweeps[radar], key=lambda t: abs(t - stamp))
                if abs(nearest - stamp) <= SLOP_NS:
                    xyz, features = sweeps[radar][nearest]
                    T = camera_from_map @ recording.map_from_sensor(radar, nearest)
                    points.append(
                        project_radar(transform_points(T, xyz), features, model.camera_matrix)
                    )
            image = np.asarray(images[stamp].data, np.uint8).reshape(model.height, model.width, 3)
            depth[camera][stamp] = estimator.estimate(image, np.concatenate(points)).depth
    return depth


def test_six_camera_node_scores_each_camera_as_offline(
    rig_scene_bag, student_checkpoint, tmp_path, ros_env, domain_id, start_process, wait_for_file
):
    params = [
        *full_rig_params(student_checkpoint),
        "topics.image:=/{camera}/image_rgb",
        "topics.camera_info:=/{camera}/camera_info",
        f"topics.depth:={DEPTH_TOPIC}",
        "topics.radar:=/{radar}",
        # An image waits for a sweep of every radar at or after it (or for the radar period
        # to rule one out); a busy node may take longer than the default 0.1 s to read it.
        # The bag's last frames have no later sweep of some radars: decided after this.
        "sync.max_wait:=2.0",
    ]
    start_process(
        ["-m", "lircdepth_ros.launcher", *[a for p in params for a in ("-p", p)]], ros_env
    )
    ready, out = tmp_path / "evaluator.ready", tmp_path / "online.json"
    evaluate = ["-m", "lircdepth", "bag", "evaluate", "--bag", str(rig_scene_bag)]
    outputs = ["--ready-file", str(ready), "--json", str(out)]
    limits = ["--idle-timeout", "30", "--timeout", "400"]
    picture = ["--surround", str(tmp_path / "surround.png")]
    evaluator = start_process(
        [*evaluate, "--depth-topic", DEPTH_TOPIC, *outputs, *limits, *picture], ros_env
    )
    wait_for_file(ready, timeout=240)
    stats = play_bag(
        rig_scene_bag,
        lockstep=True,
        depth_topic=DEPTH_TOPIC,
        domain_id=domain_id,
        wait_for_subscribers=60.0,
        lockstep_timeout=30.0,
    )
    assert evaluator.wait(timeout=200) == 0
    assert stats.frames_per_camera == dict.fromkeys(FULL_CAMERAS, 3)
    # Every keyframe of every camera is answered: the first (the player waits until the
    # node's radar and /tf subscriptions are matched too) and the last (no later sweep of
    # some radars: decided after sync.max_wait).
    assert stats.answered_per_camera == dict.fromkeys(FULL_CAMERAS, 3), stats.answered_per_camera
    assert stats.cameras_silent == []
    online = json.loads(out.read_text())
    expected = score_rig(rig_scene_bag, offline_depth(rig_scene_bag, student_checkpoint))
    assert online["cameras_silent"] == [] and online["frames_scored"] == 18, online
    for camera in FULL_CAMERAS:
        offline_frames = {f["stamp_ns"]: f for f in expected["cameras"][camera]["per_frame"]}
        online_frames = online["cameras"][camera]["per_frame"]
        assert sorted(f["stamp_ns"] for f in online_frames) == sorted(offline_frames), camera
        for frame in online_frames:
            want = offline_frames[frame["stamp_ns"]]
            # One batched forward against single frames: float rounding only.
            np.testing.assert_allclose(frame["mae"], want["mae"], rtol=1e-5, err_msg=camera)
            np.testing.assert_allclose(frame["rmse"], want["rmse"], rtol=1e-5, err_msg=camera)
    assert (tmp_path / "surround.png").stat().st_size > 10_000
