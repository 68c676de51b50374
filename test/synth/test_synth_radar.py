"""Radar Doppler is consistent with the ego motion the devkit reads from ego_pose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from nuscenes.utils.data_classes import RadarPointCloud
from pyquaternion import Quaternion


def _sensor_pose(nusc, record: dict) -> np.ndarray:
    """4x4 global-from-radar transform of a sample_data record."""
    transform = np.eye(4)
    for table in ("ego_pose", "calibrated_sensor"):
        pose = nusc.get(table, record[f"{table}_token"])
        step = np.eye(4)
        step[:3, :3] = Quaternion(pose["rotation"]).rotation_matrix
        step[:3, 3] = pose["translation"]
        transform = transform @ step
    return transform


def _sensor_velocity(nusc, record: dict) -> np.ndarray:
    """Radar velocity in its own frame, by central difference of neighbouring sweeps."""
    before = nusc.get("sample_data", record["prev"]) if record["prev"] else record
    after = nusc.get("sample_data", record["next"]) if record["next"] else record
    moved = _sensor_pose(nusc, after)[:3, 3] - _sensor_pose(nusc, before)[:3, 3]
    velocity = moved / ((after["timestamp"] - before["timestamp"]) / 1e6)
    return _sensor_pose(nusc, record)[:3, :3].T @ velocity


def test_doppler_raw_minus_compensated_is_the_sensors_own_motion(synth_nusc):
    checked = 0
    for sample in synth_nusc.sample:
        record = synth_nusc.get("sample_data", sample["data"]["RADAR_FRONT"])
        fields = RadarPointCloud.from_file(
            str(Path(synth_nusc.dataroot) / record["filename"])
        ).points
        line_of_sight = fields[:2] / np.linalg.norm(fields[:2], axis=0)
        own_radial = _sensor_velocity(synth_nusc, record)[:2] @ line_of_sight
        raw = np.sum(fields[6:8] * line_of_sight, axis=0)
        compensated = np.sum(fields[8:10] * line_of_sight, axis=0)
        assert np.allclose(raw - compensated, -own_radial, atol=0.05), record["filename"]
        stationary = fields[3] == 1
        assert np.all(np.abs(compensated[stationary]) < 0.5), "Doppler noise is 0.1 m/s"
        checked += len(raw)
    assert checked > 50


def test_road_users_carry_plausible_velocities(synth_nusc):
    """Some detections move (cars, oncoming traffic), none faster than the fastest agent."""
    moving = oncoming = 0
    for sample in synth_nusc.sample:
        record = synth_nusc.get("sample_data", sample["data"]["RADAR_FRONT"])
        fields = RadarPointCloud.from_file(
            str(Path(synth_nusc.dataroot) / record["filename"])
        ).points
        speed = np.hypot(fields[8], fields[9])
        assert np.all(speed < 16.0)
        moving += int(np.sum(fields[3] == 0))
        oncoming += int(np.sum(fields[3] == 2))
    assert moving > 0 and oncoming > 0
