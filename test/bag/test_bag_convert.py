"""Converter round trip: bags read back with rosbags equal the devkit's data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.data_classes import LidarPointCloud, RadarPointCloud
from rosbags.rosbag2 import Reader

from lircdepth.cli import main as lircdepth_main
from lircdepth.geometry import make_transform
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.convert import convert_scene, convert_scenes
from test.helpers.nuscenes import scene_sample_data

VERSION = "v1.0-mini"


@pytest.fixture(scope="module")
def nusc(synth_root) -> NuScenes:
    return NuScenes(version=VERSION, dataroot=str(synth_root), verbose=False)


@pytest.fixture(scope="module")
def mcap_bag(scene_bag, nusc) -> Path:
    assert nusc.scene[0]["name"] == scene_bag.name
    return scene_bag


def read_messages(bag: Path) -> list[tuple[str, int, object, bytes]]:
    with Reader(bag) as reader:
        return [(c.topic, t, m.deserialize(raw, c.msgtype), raw) for c, t, raw in reader.messages()]


def assert_transform_equals(message, rotation_wxyz, translation) -> None:
    np.testing.assert_allclose(
        m.transform_matrix(message), make_transform(rotation_wxyz, translation), atol=1e-9
    )


def test_bag_holds_every_sample_and_sweep_in_time_order(mcap_bag, nusc):
    scene = nusc.scene[0]
    messages = read_messages(mcap_bag)
    counts = Counter(topic for topic, *_ in messages)
    for channel, topic in [
        ("CAM_FRONT", "/CAM_FRONT/image_rgb"),
        ("RADAR_FRONT", "/RADAR_FRONT"),
        ("LIDAR_TOP", "/LIDAR_TOP"),
    ]:
        records = scene_sample_data(nusc, scene, channel)
        assert any(not sd["is_key_frame"] for sd in records), f"synthetic {channel} has no sweeps"
        assert counts[topic] == len(records)
        stamps = [t for topic_, t, *_ in messages if topic_ == topic]
        assert stamps == [sd["timestamp"] * 1000 for sd in records]
    assert counts["/CAM_FRONT/camera_info"] == counts["/CAM_FRONT/image_rgb"]
    assert counts["/tf_static"] == 1
    log_times = [t for _, t, *_ in messages]
    assert log_times == sorted(log_times)
    for _, t, message, _ in messages:
        header = message.transforms[0].header if hasattr(message, "transforms") else message.header
        assert m.stamp_to_nanoseconds(header.stamp) == t


def test_sensor_messages_equal_devkit_data(mcap_bag, nusc):
    by_stamp = {(sd["channel"], sd["timestamp"] * 1000): sd for sd in nusc.sample_data}
    checked = Counter()
    for topic, t, message, _ in read_messages(mcap_bag):
        if topic == "/tf" or topic == "/tf_static":
            continue
        record = by_stamp[(message.header.frame_id, t)]
        path = nusc.get_sample_data_path(record["token"])
        calibration = nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
        if topic == "/CAM_FRONT/image_rgb":
            expected = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
            assert (
                message.encoding == "rgb8" and (message.height, message.width) == expected.shape[:2]
            )
            np.testing.assert_array_equal(
                np.asarray(message.data).reshape(expected.shape), expected
            )
        elif topic == "/CAM_FRONT/camera_info":
            np.testing.assert_allclose(message.k.reshape(3, 3), calibration["camera_intrinsic"])
            assert (message.width, message.height) == (record["width"], record["height"])
        else:
            fields = m.point_cloud_fields(message)
            if topic == "/LIDAR_TOP":
                expected = LidarPointCloud.from_file(path).points
                names = m.LIDAR_FIELDS[:4]
            else:
                RadarPointCloud.default_filters()
                expected = RadarPointCloud.from_file(path).points
                names = m.RADAR_FIELDS
            assert list(fields)[: len(names)] == list(names)
            np.testing.assert_array_equal(np.stack([fields[n] for n in names]), expected)
        checked[topic] += 1
    assert set(checked) == {
        "/CAM_FRONT/image_rgb",
        "/CAM_FRONT/camera_info",
        "/LIDAR_TOP",
        "/RADAR_FRONT",
    }


def test_transforms_equal_calibration_and_ego_poses(mcap_bag, nusc):
    scene = nusc.scene[0]
    first_sample = nusc.get("sample", scene["first_sample_token"])
    poses = {p["timestamp"] * 1000: p for p in nusc.ego_pose}
    messages = read_messages(mcap_bag)
    (static,) = [msg for topic, _, msg, _ in messages if topic == "/tf_static"]
    mounts = {tf.child_frame_id: tf for tf in static.transforms}
    assert set(mounts) == set(first_sample["data"])
    for channel, token in first_sample["data"].items():
        calibration = nusc.get(
            "calibrated_sensor", nusc.get("sample_data", token)["calibrated_sensor_token"]
        )
        assert mounts[channel].header.frame_id == "base_link"
        assert_transform_equals(
            mounts[channel], calibration["rotation"], calibration["translation"]
        )
    dynamic = [(t, msg.transforms) for topic, t, msg, _ in messages if topic == "/tf"]
    sensor_stamps = {
        t
        for topic, t, *_ in messages
        if topic.startswith("/CAM") or topic in ("/LIDAR_TOP", "/RADAR_FRONT")
    }
    assert {t for t, _ in dynamic} == sensor_stamps
    for t, (transform,) in dynamic:
        assert (transform.header.frame_id, transform.child_frame_id) == ("map", "base_link")
        assert_transform_equals(transform, poses[t]["rotation"], poses[t]["translation"])


def test_metadata_is_what_rosbag2_expects(mcap_bag):
    info = yaml.safe_load((mcap_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["storage_identifier"] == "mcap" and info["version"] >= 8
    assert (mcap_bag / info["relative_file_paths"][0]).is_file()
    for entry in info["topics_with_message_count"]:
        meta = entry["topic_metadata"]
        assert meta["type_description_hash"] == m.TYPESTORE.hash_rihs01(meta["type"])
        assert meta["serialization_format"] == "cdr"
    latched = {
        e["topic_metadata"]["name"]: e["topic_metadata"]["offered_qos_profiles"][0]["durability"]
        for e in info["topics_with_message_count"]
    }
    assert latched["/tf_static"] == "transient_local"
    with Reader(mcap_bag) as reader:
        assert all(c.msgdef.data for c in reader.connections)


def test_sqlite3_storage_holds_the_same_messages(synth_root, nusc, mcap_bag, tmp_path):
    bag = convert_scene(nusc, nusc.scene[0]["name"], tmp_path / "sqlite", storage="sqlite3")
    assert list(bag.glob("*.db3"))
    info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["storage_identifier"] == "sqlite3"
    sqlite_messages = [(topic, t, raw) for topic, t, _, raw in read_messages(bag)]
    assert sqlite_messages == [(topic, t, raw) for topic, t, _, raw in read_messages(mcap_bag)]


def test_cli_converts_a_named_scene(synth_root, nusc, tmp_path, capsys):
    name = nusc.scene[1]["name"]
    args = [
        "bag",
        "convert",
        "--dataroot",
        str(synth_root),
        "--version",
        VERSION,
        "--out",
        str(tmp_path),
    ]
    assert lircdepth_main([*args, "--scenes", name]) == 0
    assert (tmp_path / name / "metadata.yaml").is_file()
    assert str(tmp_path / name) in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scenes": ["no-such-scene"]}, KeyError, "no-such-scene"),
        ({"cameras": ["CAM_BACK"]}, KeyError, "CAM_BACK"),
        ({"storage": "rosbag1"}, ValueError, "rosbag1"),
    ],
)
def test_bad_requests_fail_clearly_and_leave_nothing(synth_root, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        convert_scenes(synth_root, VERSION, tmp_path, **kwargs)
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def test_missing_dataroot_and_existing_bag_are_reported(synth_root, nusc, tmp_path):
    with pytest.raises(FileNotFoundError, match="v1.0-trainval"):
        convert_scenes(synth_root, "v1.0-trainval", tmp_path)
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="taken"):
        convert_scene(nusc, nusc.scene[0]["name"], tmp_path / "taken")
