"""The full nuScenes rig (`SynthConfig(rig="full")`): six cameras, five radars and the
lidar, loaded by the real devkit, with sane calibration, own trigger times, and radar
that lands in the right camera at the right pixel through the devkit's own chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.data_classes import RadarPointCloud
from nuscenes.utils.geometry_utils import view_points
from pyquaternion import Quaternion

from lircdepth.synth import SynthConfig, generate
from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS, LIDAR_RATE, RADAR_RATE, sensor_rig
from lircdepth.synth.preview import render_rig_preview

LIRCDEPTH = Path(sys.executable).parent / "lircdepth"
CHANNELS = (*FULL_CAMERAS, *FULL_RADARS, "LIDAR_TOP")
# Nominal yaw (degrees, ego frame, positive to the left) of each sensor's axis.
CAMERA_YAWS = {
    "CAM_FRONT": 0,
    "CAM_FRONT_LEFT": 55,
    "CAM_FRONT_RIGHT": -55,
    "CAM_BACK": 180,
    "CAM_BACK_LEFT": 110,
    "CAM_BACK_RIGHT": -110,
}
RADAR_YAWS = {
    "RADAR_FRONT": 0,
    "RADAR_FRONT_LEFT": 90,
    "RADAR_FRONT_RIGHT": -90,
    "RADAR_BACK_LEFT": 150,
    "RADAR_BACK_RIGHT": -150,
}
# The camera each side radar looks through most (the one sharing its side).
SIDE_RADAR_CAMERA = {
    "RADAR_FRONT_LEFT": "CAM_FRONT_LEFT",
    "RADAR_FRONT_RIGHT": "CAM_FRONT_RIGHT",
    "RADAR_BACK_LEFT": "CAM_BACK_LEFT",
    "RADAR_BACK_RIGHT": "CAM_BACK_RIGHT",
}
ALL_STATES = {
    "invalid_states": list(range(18)),
    "dynprop_states": list(range(8)),
    "ambig_states": list(range(5)),
}
PDH0_ROW, REAL_DETECTION = 15, 1  # the generator marks clutter with pdh0 = 2


@pytest.fixture(scope="module")
def rig_nusc(full_rig_root):
    return NuScenes(version="v1.0-mini", dataroot=str(full_rig_root), verbose=False)


def _yaw_degrees(rotation: list[float], axis: np.ndarray) -> float:
    direction = Quaternion(rotation).rotation_matrix @ axis
    return float(np.degrees(np.arctan2(direction[1], direction[0])))


def _angle_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _calibration(nusc: NuScenes, channel: str) -> dict:
    record = nusc.get("sample_data", nusc.sample[0]["data"][channel])
    return nusc.get("calibrated_sensor", record["calibrated_sensor_token"])


def test_devkit_loads_every_sensor_of_the_rig_with_keyframes_and_files(rig_nusc, full_rig_root):
    assert {sensor["channel"] for sensor in rig_nusc.sensor} == set(CHANNELS)
    assert len(rig_nusc.sample) == 6
    for sample in rig_nusc.sample:
        assert set(sample["data"]) == set(CHANNELS)
        for channel in CHANNELS:
            record = rig_nusc.get("sample_data", sample["data"][channel])
            assert record["is_key_frame"] and (full_rig_root / record["filename"]).is_file()
        for camera in FULL_CAMERAS:
            depth = np.load(full_rig_root / "depth_gt" / f"{sample['data'][camera]}.npy")
            assert depth.shape == (108, 192) and (depth > 0).mean() > 0.3, camera


def test_calibrations_point_each_sensor_its_way(rig_nusc):
    for camera, yaw in CAMERA_YAWS.items():
        calib = _calibration(rig_nusc, camera)
        optical_axis = np.array([0.0, 0.0, 1.0])
        assert _angle_gap(_yaw_degrees(calib["rotation"], optical_axis), yaw) < 2.0, camera
        x, y, z = calib["translation"]
        assert -0.5 < x < 2.0 and abs(y) < 0.6 and 1.4 < z < 1.7, camera
        assert np.sign(y) == np.sign(yaw) or yaw in (0, 180), camera
    for radar, yaw in RADAR_YAWS.items():
        calib = _calibration(rig_nusc, radar)
        assert _angle_gap(_yaw_degrees(calib["rotation"], np.array([1.0, 0, 0])), yaw) < 3.0
        assert calib["camera_intrinsic"] == []
    focal = {c: _calibration(rig_nusc, c)["camera_intrinsic"][0][0] for c in FULL_CAMERAS}
    assert focal["CAM_BACK"] < 0.7 * min(f for c, f in focal.items() if c != "CAM_BACK"), (
        "CAM_BACK has nuScenes' wide lens"
    )


def test_each_sensor_fires_at_its_own_time_near_the_sample(rig_nusc):
    for sample in rig_nusc.sample:
        offsets = {
            channel: (rig_nusc.get("sample_data", sample["data"][channel])["timestamp"])
            - sample["timestamp"]
            for channel in CHANNELS
        }
        assert offsets["LIDAR_TOP"] == 0 and offsets["CAM_FRONT"] == 0
        assert len({offsets[c] for c in FULL_CAMERAS}) == 6, "cameras fire as the lidar passes"
        assert len({offsets[r] for r in FULL_RADARS}) == 5, "radars run on their own clocks"
        assert all(abs(offsets[c]) < 1e6 / LIDAR_RATE for c in FULL_CAMERAS), "one lidar turn"
        assert all(abs(offsets[r]) <= 0.5e6 / RADAR_RATE for r in FULL_RADARS)


def _radar_in_camera(nusc: NuScenes, root: Path, radar_token: str, camera_token: str):
    """(u, v, depth) of a radar sweep's real detections in a camera, moved exactly as the
    devkit does: sensor -> ego(t_radar) -> global -> ego(t_camera) -> camera."""
    radar = nusc.get("sample_data", radar_token)
    camera = nusc.get("sample_data", camera_token)
    cloud = RadarPointCloud.from_file(str(root / radar["filename"]), **ALL_STATES)
    real = cloud.points[PDH0_ROW] == REAL_DETECTION
    for record, inverse in (
        (nusc.get("calibrated_sensor", radar["calibrated_sensor_token"]), False),
        (nusc.get("ego_pose", radar["ego_pose_token"]), False),
        (nusc.get("ego_pose", camera["ego_pose_token"]), True),
        (nusc.get("calibrated_sensor", camera["calibrated_sensor_token"]), True),
    ):
        rotation = Quaternion(record["rotation"]).rotation_matrix
        if inverse:
            cloud.translate(-np.array(record["translation"]))
            cloud.rotate(rotation.T)
        else:
            cloud.rotate(rotation)
            cloud.translate(np.array(record["translation"]))
    intrinsic = nusc.get("calibrated_sensor", camera["calibrated_sensor_token"])["camera_intrinsic"]
    depth = cloud.points[2]
    u, v = np.round(view_points(cloud.points[:3], np.array(intrinsic), normalize=True)[:2])
    keep = real & (depth > 1.0) & (u >= 0) & (u < camera["width"]) & (v >= 0)
    keep &= v < camera["height"]
    return u[keep].astype(int), v[keep].astype(int), depth[keep]


def test_side_radar_lands_in_its_camera_on_the_true_depth(rig_nusc, full_rig_root):
    """Each side radar's detections reach the camera on its side, and at the pixel they
    land on, the world's true depth is the radar's depth (range noise 0.15 m, objects
    moving between the radar's and the camera's trigger times)."""
    for radar, camera in SIDE_RADAR_CAMERA.items():
        errors = []
        for sample in rig_nusc.sample:
            u, v, depth = _radar_in_camera(
                rig_nusc, full_rig_root, sample["data"][radar], sample["data"][camera]
            )
            truth = np.load(full_rig_root / "depth_gt" / f"{sample['data'][camera]}.npy")
            errors += list(np.abs(truth[v, u] - depth))
        assert len(errors) >= 5, (radar, camera)
        assert np.median(errors) < 0.3 and np.mean(np.array(errors) < 1.0) >= 0.8, (radar, errors)


@pytest.mark.parametrize(
    ("radar", "far_cameras"),
    [
        ("RADAR_FRONT_LEFT", ("CAM_FRONT_RIGHT", "CAM_BACK_RIGHT")),
        ("RADAR_BACK_RIGHT", ("CAM_FRONT_LEFT", "CAM_FRONT", "CAM_FRONT_RIGHT")),
    ],
)
def test_a_radar_never_lands_in_cameras_it_cannot_see(rig_nusc, full_rig_root, radar, far_cameras):
    for sample in rig_nusc.sample:
        for camera in far_cameras:
            u, _, _ = _radar_in_camera(
                rig_nusc, full_rig_root, sample["data"][radar], sample["data"][camera]
            )
            assert len(u) == 0, (radar, camera)


def test_the_default_rig_is_the_published_one():
    assert SynthConfig().rig == "front"
    assert list(sensor_rig()) == ["CAM_FRONT", "LIDAR_TOP", "RADAR_FRONT"]
    assert list(sensor_rig("full")) == [*FULL_CAMERAS, "LIDAR_TOP", *FULL_RADARS]
    with pytest.raises(ValueError, match="rig"):
        SynthConfig(rig="roof")


def test_full_rig_is_deterministic(tmp_path):
    config = SynthConfig(
        scenes=1, keyframes=2, seed=4, width=64, height=48, rig="full", camera_sweeps=False
    )
    first, second = generate(tmp_path / "a", config), generate(tmp_path / "b", config)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) > 100
    assert [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()] == []


def test_rig_preview_tiles_the_six_cameras(rig_nusc, full_rig_root, tmp_path):
    path = render_rig_preview(full_rig_root, "v1.0-mini", tmp_path / "rig.png", nusc=rig_nusc)
    assert cv2.imread(str(path)).shape == (2 * 108, 3 * 192, 3)


def test_synth_command_builds_the_full_rig(tmp_path):
    out = tmp_path / "world"
    synth = [str(LIRCDEPTH), "synth", "--out", str(out), "--rig", "full", "--scenes", "1"]
    world = ["--keyframes", "2", "--width", "64", "--height", "48", "--no-camera-sweeps"]
    result = subprocess.run(
        [*synth, *world], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "full rig" in result.stdout and "RADAR_BACK_RIGHT" in result.stdout
    assert len(list((out / "depth_gt").glob("*.npy"))) == 2 * 6
    assert cv2.imread(str(out / "preview_rig.png")).shape == (2 * 48, 3 * 64, 3)
