"""The unmodified nuscenes-devkit loads the synthetic world and its readers work on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from nuscenes.utils.data_classes import LidarPointCloud, RadarPointCloud

from lircdepth.synth.tables import TABLE_NAMES

CHANNELS = ("CAM_FRONT", "LIDAR_TOP", "RADAR_FRONT")


def test_tables_have_the_configured_sizes(synth_nusc, synth_root):
    assert len(synth_nusc.scene) == 3
    assert len(synth_nusc.sample) == 12
    assert all(scene["nbr_samples"] == 4 for scene in synth_nusc.scene)
    assert {sensor["channel"] for sensor in synth_nusc.sensor} == set(CHANNELS)
    assert len(synth_nusc.sample_annotation) > 0
    for name in TABLE_NAMES:
        assert (synth_root / "v1.0-mini" / f"{name}.json").is_file(), name


def test_every_sample_has_each_channel_and_files_exist(synth_nusc, synth_root):
    for sample in synth_nusc.sample:
        assert set(CHANNELS) <= set(sample["data"])
        for channel in CHANNELS:
            record = synth_nusc.get("sample_data", sample["data"][channel])
            assert record["is_key_frame"]
            assert record["filename"].startswith(f"samples/{channel}/")
            assert (synth_root / record["filename"]).is_file()


def test_sweeps_are_linked_in_time_order_at_sensor_rates(synth_nusc):
    first = synth_nusc.sample[0]["data"]
    for channel, rate in (("CAM_FRONT", 12.0), ("LIDAR_TOP", 20.0), ("RADAR_FRONT", 13.0)):
        record = synth_nusc.get("sample_data", first[channel])
        stamps = [record["timestamp"]]
        while record["next"] and len(stamps) < 8:
            record = synth_nusc.get("sample_data", record["next"])
            stamps.append(record["timestamp"])
        steps = np.diff(stamps) / 1e6
        assert np.allclose(steps, 1.0 / rate, atol=2e-3), (channel, steps)


def test_get_sample_data_returns_image_boxes_and_intrinsics(synth_nusc):
    sample = synth_nusc.sample[1]
    path, boxes, intrinsic = synth_nusc.get_sample_data(sample["data"]["CAM_FRONT"])
    assert Path(path).is_file()
    assert intrinsic.shape == (3, 3) and intrinsic[0, 0] > 100
    assert len(boxes) > 0
    assert all(box.center[2] > 0 for box in boxes), "camera-frame boxes should lie in front"


def test_get_boxes_matches_the_sample_annotations(synth_nusc):
    sample = synth_nusc.sample[2]
    boxes = synth_nusc.get_boxes(sample["data"]["LIDAR_TOP"])
    assert len(boxes) == len(sample["anns"]) > 0
    names = {box.name for box in boxes}
    assert names <= {"vehicle.car", "vehicle.truck", "human.pedestrian.adult"}


def test_multisweep_readers_accumulate_radar_and_lidar(synth_nusc):
    sample = synth_nusc.sample[3]
    radar, radar_times = RadarPointCloud.from_file_multisweep(
        synth_nusc, sample, "RADAR_FRONT", "RADAR_FRONT", nsweeps=5
    )
    lidar, lidar_times = LidarPointCloud.from_file_multisweep(
        synth_nusc, sample, "LIDAR_TOP", "LIDAR_TOP", nsweeps=5
    )
    assert radar.points.shape[0] == 18 and radar.points.shape[1] >= 20
    assert len(np.unique(radar_times)) == 5
    assert lidar.points.shape[0] == 4 and lidar.points.shape[1] > 5 * 1000
    assert len(np.unique(lidar_times)) == 5
    assert np.isfinite(radar.points).all() and np.isfinite(lidar.points).all()


def test_map_pointcloud_to_image_projects_both_point_sensors(synth_nusc):
    data = synth_nusc.sample[0]["data"]
    camera = synth_nusc.get("sample_data", data["CAM_FRONT"])
    for channel, minimum in (("LIDAR_TOP", 1000), ("RADAR_FRONT", 5)):
        points, depths, image = synth_nusc.explorer.map_pointcloud_to_image(
            data[channel], data["CAM_FRONT"]
        )
        assert image.size == (camera["width"], camera["height"])
        assert points.shape[1] == len(depths) >= minimum, channel
        assert (depths > 1.0).all()
