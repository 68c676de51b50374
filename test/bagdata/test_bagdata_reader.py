"""BagData on real bags: the community nuscenes2bag layout written by `bag convert
--layout nuscenes2bag` from the synthetic full-rig world, and one-line errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lircdepth.bagdata import BagData, MissingTopicError, find_keyframes
from lircdepth.bagdata.keyframes import Stamped
from lircdepth.errors import MissingPathError
from lircdepth.geometry import make_transform
from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS
from test.helpers.nuscenes import sample_data_at

VERSION = "v1.0-mini"


@pytest.fixture(scope="module")
def community_bag(full_rig_root, tmp_path_factory):
    from lircdepth_ros.bag.convert import convert_scenes

    (bag,) = convert_scenes(
        full_rig_root,
        VERSION,
        tmp_path_factory.mktemp("n2b"),
        scenes=["synth-0000"],
        cameras=["all"],
        radars=["all"],
        layout="nuscenes2bag",
    )
    return bag


@pytest.fixture(scope="module")
def nusc(full_rig_root):
    from nuscenes.nuscenes import NuScenes

    return NuScenes(VERSION, str(full_rig_root), verbose=False)


def test_layout_has_the_community_topics_and_no_tf_static(community_bag):
    bag = BagData(community_bag)
    assert "/tf_static" not in bag.topics and "/clock" not in bag.topics
    assert bag.topics["/diagnostics"] == "diagnostic_msgs/msg/DiagnosticArray"
    assert sorted(bag.sensors.cameras) == sorted(FULL_CAMERAS)
    assert all(c.compressed and c.info_topic for c in bag.sensors.cameras.values())
    assert sorted(bag.sensors.radars) == sorted(FULL_RADARS)
    assert list(bag.sensors.lidars) == ["LIDAR_TOP"]
    assert bag.custom_data == {}


def test_camera_frames_are_the_original_jpeg_and_calibration(community_bag, nusc):
    bag = BagData(community_bag)
    infos = bag.camera_infos("CAM_FRONT")
    for frame in bag.images("CAM_FRONT"):
        record = sample_data_at(nusc, "CAM_FRONT", frame.stamp)
        expected = cv2.cvtColor(
            cv2.imread(str(nusc.get_sample_data_path(record["token"]))), cv2.COLOR_BGR2RGB
        )
        np.testing.assert_array_equal(frame.rgb, expected)
        mount = nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
        np.testing.assert_array_equal(infos[frame.stamp].camera_matrix, mount["camera_intrinsic"])
    messages = [msg for _, _, msg in bag.messages(["/CAM_FRONT/camera_info"])]
    assert all(msg.distortion_model == "" and len(msg.d) == 0 for msg in messages)


def test_keyframe_images_are_logged_at_the_lidar_time(community_bag):
    bag = BagData(community_bag)
    lidar_logs = {s.log_time for s in bag.cloud_stamps("LIDAR_TOP")}
    offsets = []
    for camera in FULL_CAMERAS:
        for stamped in bag.image_stamps(camera):
            assert stamped.log_time in lidar_logs
            offsets.append(abs(stamped.stamp - stamped.log_time))
    assert max(offsets) > 0, "the side cameras fire after the lidar: header != bag time"
    keyframes = bag.keyframes()
    assert len(keyframes) == 3 and all(set(FULL_CAMERAS) < set(k.stamps) for k in keyframes)


def test_radar_is_packed_as_in_the_file(community_bag, nusc):
    from nuscenes.utils.data_classes import RadarPointCloud

    bag = BagData(community_bag)
    cloud = next(bag.clouds("RADAR_FRONT"))
    offsets = {f.name: (f.offset, f.datatype) for f in cloud.message.fields}
    assert cloud.message.point_step == 43
    assert (
        offsets["dyn_prop"] == (12, 1)
        and offsets["id"] == (13, 3)
        and offsets["vy_comp"] == (31, 7)
    )
    record = sample_data_at(nusc, "RADAR_FRONT", cloud.stamp)
    RadarPointCloud.disable_filters()
    try:
        expected = RadarPointCloud.from_file(nusc.get_sample_data_path(record["token"])).points
    finally:
        RadarPointCloud.default_filters()
    fields = cloud.fields(
        ["x", "y", "z", "dyn_prop", "id", "rcs", "vx", "vy", "vx_comp", "vy_comp"]
    )
    for row, name in enumerate(fields):
        np.testing.assert_array_equal(fields[name], expected[row].astype(np.float32), err_msg=name)


def test_tf_only_poses_are_exact_at_keyframes_and_mounts_come_from_tf(community_bag, nusc):
    bag = BagData(community_bag)
    for keyframe in bag.keyframes():
        lidar = sample_data_at(nusc, "LIDAR_TOP", keyframe.lidar_stamp)
        pose = nusc.get("ego_pose", lidar["ego_pose_token"])
        mount = nusc.get("calibrated_sensor", lidar["calibrated_sensor_token"])
        expected = make_transform(np.array(pose["rotation"]), pose["translation"]) @ make_transform(
            np.array(mount["rotation"]), mount["translation"]
        )
        np.testing.assert_array_equal(
            bag.map_from_sensor("LIDAR_TOP", keyframe.lidar_stamp), expected
        )


def test_missing_things_are_one_line_errors(community_bag, tmp_path):
    bag = BagData(community_bag)
    with pytest.raises(MissingTopicError, match="records no camera CAM_TOP") as error:
        bag.camera_infos("CAM_TOP")
    assert "\n" not in str(error.value)
    with pytest.raises(MissingTopicError, match="has no topic /tf_static"):
        bag.require("/tf_static")
    with pytest.raises(MissingPathError, match="no metadata.yaml"):
        BagData(tmp_path)


def test_keyframes_from_stamps_pair_mutual_nearest_within_the_gap():
    sweeps = [Stamped(t, t) for t in (0, 50, 100, 150)]
    images = [Stamped(t, t + 1) for t in (3, 98, 175)]  # logged at their own time
    (first, second) = find_keyframes("L", sweeps, {"C": images}, max_gap_ns=10)
    assert (first.stamps, second.stamps) == ({"L": 0, "C": 3}, {"L": 100, "C": 98})


def test_sqlite3_bag_reads_the_same(full_rig_root, community_bag, tmp_path):
    from lircdepth_ros.bag.convert import convert_scenes

    (sqlite_bag,) = convert_scenes(
        full_rig_root,
        VERSION,
        tmp_path,
        scenes=["synth-0000"],
        cameras=["CAM_FRONT"],
        radars=["RADAR_FRONT"],
        storage="sqlite3",
        layout="nuscenes2bag",
    )
    sqlite, mcap = BagData(sqlite_bag), BagData(community_bag)
    assert [k.stamps["CAM_FRONT"] for k in sqlite.keyframes()] == [
        k.stamps["CAM_FRONT"] for k in mcap.keyframes()
    ]
    (first,) = list(sqlite.images("CAM_FRONT", {sqlite.keyframes()[0].stamps["CAM_FRONT"]}))
    (same,) = list(mcap.images("CAM_FRONT", {first.stamp}))
    np.testing.assert_array_equal(first.rgb, same.rgb)


def test_a_broken_bag_is_one_line_naming_it(tmp_path):
    from lircdepth.bagdata.checks import BagError

    (tmp_path / "metadata.yaml").write_text("rosbag2_bagfile_information: {version: 9}\n")
    with pytest.raises(BagError, match=f"bag {tmp_path} cannot be read") as error:
        BagData(tmp_path)
    assert "\n" not in str(error.value)
