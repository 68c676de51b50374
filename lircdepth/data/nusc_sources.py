"""Read a nuScenes dataroot through the devkit: tables, sensor files and sensor poses.

Every file read goes through here so a missing or corrupt input fails with an error
that names the file, and every sensor pose is computed once per sample_data token.
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.data_classes import LidarPointCloud, RadarPointCloud

from lircdepth.data.nusc_tables import TABLE_KEYS, diagnose_folder, table_problems
from lircdepth.data.sensor_names import pick_names
from lircdepth.errors import UnknownNameError, UsageError
from lircdepth.geometry import invert_transform, make_transform

# LIDAR_TOP .pcd.bin rows: x, y, z, intensity, ring index as float32.
LIDAR_BYTES_PER_POINT = 5 * 4
# Raw radar fields the method uses (rows of the 18-row RadarPointCloud array).
RADAR_RCS_ROW, RADAR_VX_ROW, RADAR_VY_ROW = 5, 6, 7
# Radar state filters passed to RadarPointCloud.from_file. "none" keeps every point, what
# `RadarPointCloud.disable_filters()` sets (the published setting); "devkit" is the
# devkit's default (valid, unambiguous points only). Passed explicitly, so the devkit's
# class-wide filter settings never matter.
RADAR_FILTERS = {
    "none": {
        "invalid_states": list(range(18)),
        "dynprop_states": list(range(8)),
        "ambig_states": list(range(5)),
    },
    "devkit": {"invalid_states": [0], "dynprop_states": list(range(7)), "ambig_states": [3]},
}


class PrepareInputError(UsageError, RuntimeError):
    """A dataroot, table or sensor file is missing or unreadable; the message names it."""


def open_nuscenes(dataroot: Path, version: str) -> NuScenes:
    """Load the devkit tables, turning the devkit's asserts into errors that name the path."""
    dataroot = Path(dataroot)
    if not dataroot.is_dir():
        raise PrepareInputError(f"nuScenes dataroot not found: {dataroot}")
    table_dir = dataroot / version
    if not table_dir.is_dir():
        raise PrepareInputError(f"nuScenes version folder not found: {table_dir}")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            nusc = NuScenes(version=version, dataroot=str(dataroot), verbose=False)
    except Exception as error:  # the devkit trusts its files: diagnose them ourselves
        problem = diagnose_folder(table_dir)
        if problem is None:
            problem = (
                f"cannot load nuScenes tables from {table_dir}: {type(error).__name__}: {error}"
            )
        raise PrepareInputError(problem) from error
    found = table_problems({name: getattr(nusc, name) for name in TABLE_KEYS})
    if found is not None:
        raise PrepareInputError(f"{table_dir / found[0]}.json: {found[1]}")
    return nusc


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise PrepareInputError(f"sensor file not found: {path}")
    return path


def check_lidar_file(path: Path) -> Path:
    """`path` if it is a non-empty whole number of lidar points; else PrepareInputError."""
    path = _existing(Path(path))
    size = path.stat().st_size
    if size == 0:
        raise PrepareInputError(f"empty lidar file {path}: a keyframe needs its lidar points")
    if size % LIDAR_BYTES_PER_POINT:
        raise PrepareInputError(
            f"corrupt lidar file {path}: size {size} bytes is not a whole "
            f"number of {LIDAR_BYTES_PER_POINT}-byte points (truncated?)"
        )
    return path


def read_lidar_rows(path: Path) -> np.ndarray:
    """5 x N float32 (x, y, z, intensity, ring) of a checked nuScenes .pcd.bin sweep."""
    values = np.fromfile(check_lidar_file(path), dtype=np.float32)
    return values.reshape(-1, LIDAR_BYTES_PER_POINT // 4).T


def load_lidar(path: Path) -> np.ndarray:
    """N x 3 float64 lidar points in the sensor frame, via the devkit reader."""
    path = check_lidar_file(path)
    try:
        cloud = LidarPointCloud.from_file(str(path))
    except (AssertionError, ValueError, OSError) as error:
        raise PrepareInputError(f"corrupt lidar file {path}: {error!r}") from error
    return cloud.points[:3].T.astype(np.float64)


def load_radar(path: Path, filters: str = "none") -> np.ndarray:
    """18 x N radar fields via the devkit reader, with the `RADAR_FILTERS` named `filters`."""
    path = _existing(Path(path))
    try:
        cloud = RadarPointCloud.from_file(str(path), **RADAR_FILTERS[filters])
    except (
        AssertionError,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        struct.error,
        UnicodeDecodeError,
        EOFError,
        OverflowError,
        MemoryError,
    ) as error:
        raise PrepareInputError(f"corrupt radar file {path}: {error!r}") from error
    return cloud.points


def resolve_channels(
    nusc: NuScenes, requested: Sequence[str], modality: str, flag: str
) -> tuple[str, ...]:
    """The channels asked for, checked against the dataroot's sensors of that modality.

    `all` stands for every such sensor, in the sensor table's order.
    """
    available = [s["channel"] for s in nusc.sensor if s["modality"] == modality]
    chosen, unknown = pick_names(requested, available)
    if unknown:
        raise UnknownNameError(
            f"{flag}: no {modality} channel(s) {', '.join(unknown)} in {nusc.dataroot} "
            f"(it has: {', '.join(available) or 'none'})"
        )
    return tuple(chosen)


class SensorPoses:
    """Sensor-to-global transforms and intrinsics, cached per sample_data token."""

    def __init__(self, nusc: NuScenes) -> None:
        self.nusc = nusc
        self.global_from_sensor = lru_cache(maxsize=None)(self._global_from_sensor)

    def _global_from_sensor(self, sample_data_token: str) -> np.ndarray:
        record = self.nusc.get("sample_data", sample_data_token)
        calib = self.nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
        pose = self.nusc.get("ego_pose", record["ego_pose_token"])
        T_ego_from_sensor = make_transform(calib["rotation"], calib["translation"])
        T_global_from_ego = make_transform(pose["rotation"], pose["translation"])
        return T_global_from_ego @ T_ego_from_sensor

    def sensor_from_global(self, sample_data_token: str) -> np.ndarray:
        return invert_transform(self.global_from_sensor(sample_data_token))

    def camera_matrix(self, sample_data_token: str) -> np.ndarray:
        record = self.nusc.get("sample_data", sample_data_token)
        calib = self.nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
        matrix = np.asarray(calib["camera_intrinsic"], dtype=np.float64)
        if matrix.shape != (3, 3):
            raise PrepareInputError(
                f"calibrated_sensor {calib['token']}: camera_intrinsic must be 3x3, "
                f"got {matrix.shape}"
            )
        return matrix

    def path(self, sample_data_token: str) -> Path:
        record = self.nusc.get("sample_data", sample_data_token)
        return Path(self.nusc.dataroot) / record["filename"]
