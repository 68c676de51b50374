"""Radar PointCloud2 -> the points and features the model needs (x, y, z, rcs, vx, vy).

Field names differ between drivers (nuScenes exports `vx_comp`/`vy_comp`, others `vx`),
so they are parameters. x, y, z are required; a missing rcs/vx/vy field reads as 0.
Points with a non-finite coordinate are dropped and counted (is_dense=false clouds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import PointCloud2

from lircdepth_ros.conversions import MessageError, check_pointcloud2, pointcloud2_to_array


@dataclass(frozen=True)
class RadarFieldNames:
    """Names of the PointCloud2 fields that hold each model input."""

    x: str = "x"
    y: str = "y"
    z: str = "z"
    rcs: str = "rcs"
    vx: str = "vx"
    vy: str = "vy"


DEFAULT_FIELDS = RadarFieldNames()


@dataclass
class RadarPoints:
    """One sweep in its sensor frame: N x 3 coordinates, N x 3 features (rcs, vx, vy)."""

    xyz: np.ndarray
    features: np.ndarray
    dropped_non_finite: int = 0


def check_radar_cloud(
    msg: PointCloud2, names: RadarFieldNames = DEFAULT_FIELDS, max_points: int | None = None
) -> None:
    """`check_pointcloud2`, and the cloud must carry the coordinate fields (header only)."""
    dtype = check_pointcloud2(msg, max_points)
    available = set(dtype.names or ())
    missing = [name for name in (names.x, names.y, names.z) if name not in available]
    if missing:
        raise MessageError(
            f"PointCloud2 lacks coordinate field(s) {missing}; it has {sorted(available)}",
            "pointcloud2.missing_field",
        )
    used = (names.x, names.y, names.z, names.rcs, names.vx, names.vy)
    arrays = [name for name in used if name in available and dtype[name].shape != ()]
    if arrays:
        raise MessageError(
            f"PointCloud2 field(s) {arrays} have count > 1; the model needs one value per point",
            "pointcloud2.fields",
        )


def radar_points_from_cloud(
    msg: PointCloud2, names: RadarFieldNames = DEFAULT_FIELDS, max_points: int | None = None
) -> RadarPoints:
    """Extract coordinates and features; raises MessageError if a coordinate field is missing."""
    check_radar_cloud(msg, names, max_points)
    points = pointcloud2_to_array(msg, max_points)
    available = set(points.dtype.names)
    xyz = np.column_stack([points[n].astype(np.float64) for n in (names.x, names.y, names.z)])
    features = np.column_stack(
        [
            points[n].astype(np.float64) if n in available else np.zeros(len(points))
            for n in (names.rcs, names.vx, names.vy)
        ]
    ).reshape(len(points), 3)
    finite = np.isfinite(xyz).all(axis=1)
    features = np.nan_to_num(features[finite], nan=0.0, posinf=0.0, neginf=0.0)
    return RadarPoints(xyz.reshape(-1, 3)[finite], features, int((~finite).sum()))
