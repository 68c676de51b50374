"""Geometry is exact: devkit-projected lidar and radar agree with the true depth maps,
and annotation boxes hold their agents' lidar points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from nuscenes.utils.data_classes import LidarPointCloud
from nuscenes.utils.geometry_utils import points_in_box
from pyquaternion import Quaternion


def _true_depth(root: Path, camera_token: str) -> np.ndarray:
    return np.load(root / "depth_gt" / f"{camera_token}.npy")


def _projected(nusc, sample: dict, channel: str) -> tuple[np.ndarray, np.ndarray]:
    points, depths, _ = nusc.explorer.map_pointcloud_to_image(
        sample["data"][channel], sample["data"]["CAM_FRONT"]
    )
    return np.round(points[:2]).astype(int), np.asarray(depths)


def test_depth_maps_match_the_camera_images(synth_nusc, synth_root):
    for sample in synth_nusc.sample:
        camera = synth_nusc.get("sample_data", sample["data"]["CAM_FRONT"])
        depth = _true_depth(synth_root, camera["token"])
        assert depth.dtype == np.float32
        assert depth.shape == (camera["height"], camera["width"])
        assert depth.min() == 0.0 and 0.0 < np.median(depth[depth > 0]) < 100.0
        assert (depth[-1] > 0).all(), "the bottom row sees the ground"


def test_lidar_lands_on_pixels_of_the_same_true_depth(synth_nusc, synth_root):
    """Nearly every devkit-projected lidar point matches the true depth within 2 %. The
    few that do not are parallax, not error: the lidar sits higher and further back than
    the camera and sees surfaces (car roofs, behind edges) that the camera cannot."""
    matched = total = 0
    for sample in synth_nusc.sample:
        (u, v), depths = _projected(synth_nusc, sample, "LIDAR_TOP")
        truth = _true_depth(synth_root, sample["data"]["CAM_FRONT"])
        inside = (u >= 0) & (u < truth.shape[1]) & (v >= 0) & (v < truth.shape[0])
        relative = np.abs(truth[v[inside], u[inside]] - depths[inside]) / depths[inside]
        assert inside.sum() > 1000
        assert np.mean(relative < 0.02) >= 0.94, np.mean(relative < 0.02)
        assert np.median(relative) < 0.002, np.median(relative)
        matched += int((relative < 0.02).sum())
        total += len(relative)
    assert matched / total >= 0.97, matched / total


def test_radar_depth_is_found_in_its_image_column(synth_nusc, synth_root):
    """Radar has no elevation: its points sit at sensor height, so only the column is
    known. A real detection's depth appears somewhere in the true depth of its column."""
    matched = total = 0
    for sample in synth_nusc.sample:
        radar = synth_nusc.get("sample_data", sample["data"]["RADAR_FRONT"])
        (u, _), depths = _projected(synth_nusc, sample, "RADAR_FRONT")
        truth = _true_depth(synth_root, sample["data"]["CAM_FRONT"])
        for column, depth in zip(u, depths, strict=True):
            window = truth[:, max(column - 3, 0) : column + 4]
            total += 1
            matched += bool((np.abs(window - depth) < max(0.6, 0.04 * depth)).any())
        assert radar["is_key_frame"]
    assert total > 50
    assert matched / total >= 0.85, (matched, total)


def _global_lidar(nusc, sample: dict) -> np.ndarray:
    record = nusc.get("sample_data", sample["data"]["LIDAR_TOP"])
    cloud = LidarPointCloud.from_file(str(Path(nusc.dataroot) / record["filename"]))
    for table in ("calibrated_sensor", "ego_pose"):
        pose = nusc.get(table, record[f"{table}_token"])
        cloud.rotate(Quaternion(pose["rotation"]).rotation_matrix)
        cloud.translate(np.array(pose["translation"]))
    return cloud.points[:3]


def test_annotation_boxes_hold_their_agents_lidar_points(synth_nusc):
    """num_lidar_pts counts the agent's returns; the devkit's points_in_box finds them in
    the annotated box grown by the lidar noise (5 cm a side)."""
    agree = checked = 0
    for sample in synth_nusc.sample:
        points = _global_lidar(synth_nusc, sample)
        for token in sample["anns"]:
            box = synth_nusc.get_box(token)
            box.wlh = box.wlh + 0.1
            found = int(points_in_box(box, points).sum())
            expected = synth_nusc.get("sample_annotation", token)["num_lidar_pts"]
            checked += 1
            agree += abs(found - expected) <= max(2, 0.03 * expected)
    assert checked > 20
    assert agree / checked >= 0.97, (agree, checked)
