"""`bag convert` of the full synthetic rig: every camera and radar topic, each camera's
intrinsics, every mount in /tf_static, and the keyframes of each camera in metadata."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from nuscenes.nuscenes import NuScenes
from rosbags.rosbag2 import Reader

from lircdepth.cli import main as lircdepth_main
from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.convert import (
    CAMERAS_KEY,
    KEYFRAMES_KEY,
    RADARS_KEY,
    camera_info_topic,
    convert_scenes,
    image_topic,
    point_cloud_topic,
)
from lircdepth_ros.bag.ground_truth import bag_custom_data
from test.helpers.nuscenes import scene_sample_data

VERSION = "v1.0-mini"
SCENE = "synth-0000"


@pytest.fixture(scope="module")
def rig_nusc(full_rig_root) -> NuScenes:
    return NuScenes(version=VERSION, dataroot=str(full_rig_root), verbose=False)


@pytest.fixture(scope="module")
def full_bag(full_rig_root, tmp_path_factory) -> Path:
    (bag,) = convert_scenes(
        full_rig_root,
        VERSION,
        tmp_path_factory.mktemp("rig_bags"),
        scenes=[SCENE],
        cameras=["all"],
        radars=["all"],
    )
    return bag


def _scene_records(nusc: NuScenes, channel: str) -> list[dict]:
    return scene_sample_data(nusc, next(s for s in nusc.scene if s["name"] == SCENE), channel)


def test_every_camera_and_radar_of_the_rig_has_its_topics(full_bag, rig_nusc):
    with Reader(full_bag) as reader:
        counts = Counter(c.topic for c, _, _ in reader.messages())
        infos = {}
        for connection, _, raw in reader.messages():
            if connection.msgtype == m.CAMERA_INFO:
                message = m.deserialize(raw, connection.msgtype)
                infos[message.header.frame_id] = np.asarray(message.k).reshape(3, 3)
            elif connection.topic == "/tf_static":
                static = m.deserialize(raw, connection.msgtype)
    for camera in FULL_CAMERAS:
        expected = len(_scene_records(rig_nusc, camera))
        assert counts[image_topic(camera)] == counts[camera_info_topic(camera)] == expected
        record = _scene_records(rig_nusc, camera)[0]
        calib = rig_nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
        np.testing.assert_allclose(infos[camera], calib["camera_intrinsic"])
    for channel in (*FULL_RADARS, "LIDAR_TOP"):
        assert counts[point_cloud_topic(channel)] == len(_scene_records(rig_nusc, channel))
    assert {tf.child_frame_id for tf in static.transforms} == {
        *FULL_CAMERAS,
        *FULL_RADARS,
        "LIDAR_TOP",
    }
    assert counts["/tf_static"] == 1 and counts["/tf"] > 0


def test_metadata_lists_each_cameras_keyframes(full_bag, rig_nusc):
    custom = bag_custom_data(full_bag)
    assert json.loads(custom[CAMERAS_KEY]) == list(FULL_CAMERAS)
    assert json.loads(custom[RADARS_KEY]) == list(FULL_RADARS)
    table = json.loads(custom[KEYFRAMES_KEY])
    assert len(table) == 3
    for row in table:
        sample = rig_nusc.get("sample", row["sample_token"])
        for camera in FULL_CAMERAS:
            keyframe = rig_nusc.get("sample_data", sample["data"][camera])
            assert row["stamps"][camera] == keyframe["timestamp"]
        assert len({row["stamps"][c] for c in FULL_CAMERAS}) == 6, "own trigger times"


def test_cli_converts_named_cameras_and_radars(full_rig_root, tmp_path, capsys):
    convert = ["bag", "convert", "--dataroot", str(full_rig_root), "--out", str(tmp_path)]
    rig = ["--scenes", "synth-0001", "--cameras", "CAM_BACK", "CAM_FRONT_LEFT"]
    code = lircdepth_main([*convert, *rig, "--radars", "RADAR_BACK_LEFT"])
    assert code == 0, capsys.readouterr().err
    with Reader(tmp_path / "synth-0001") as reader:
        topics = {c.topic for c in reader.connections}
    assert topics == {
        "/tf",
        "/tf_static",
        "/LIDAR_TOP",
        "/RADAR_BACK_LEFT",
        image_topic("CAM_BACK"),
        camera_info_topic("CAM_BACK"),
        image_topic("CAM_FRONT_LEFT"),
        camera_info_topic("CAM_FRONT_LEFT"),
    }


def test_an_unknown_radar_is_named_with_its_flag(full_rig_root, tmp_path):
    with pytest.raises(KeyError, match="--radars.*RADAR_ROOF"):
        convert_scenes(full_rig_root, VERSION, tmp_path, radars=["RADAR_ROOF"])
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]
