"""Radar PointCloud2 -> the points and features the model needs (x, y, z, rcs, vx, vy).

Field names differ between drivers, so they come from `radar.preset` and the
`radar.field_*` parameters (`radar_fields.py`: presets, polar coordinates, radial
speed). The coordinates are required; a channel without a field reads as 0 (counted and
warned about by the node). Fields are read by offset, whatever the point_step,
alignment, types and endianness. Points with a non-finite coordinate are dropped and
counted (is_dense=false clouds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import PointCloud2

from lircdepth_ros import radar_fields
from lircdepth_ros.conversions import MessageError, check_pointcloud2, pointcloud2_to_array
from lircdepth_ros.radar_fields import DEFAULT_FIELDS, RadarFieldNames

__all__ = [
    "DEFAULT_FIELDS",
    "RadarFieldNames",
    "RadarPoints",
    "check_radar_cloud",
    "radar_points_from_cloud",
]


@dataclass
class RadarPoints:
    """One sweep in its sensor frame: N x 3 coordinates, N x 3 features (rcs, vx, vy)."""

    xyz: np.ndarray
    features: np.ndarray
    dropped_non_finite: int = 0


def check_radar_cloud(
    msg: PointCloud2, names: RadarFieldNames = DEFAULT_FIELDS, max_points: int | None = None
) -> set[str]:
    """`check_pointcloud2`, and the cloud must carry the coordinate fields (header only).

    Returns the cloud's field names.
    """
    dtype = check_pointcloud2(msg, max_points)
    available = set(dtype.names or ())
    missing = radar_fields.missing_coordinates(available, names)
    if missing:
        raise MessageError(
            f"PointCloud2 lacks coordinate field(s) {missing} (and range/azimuth/elevation); "
            f"it has {sorted(available)}",
            "pointcloud2.missing_field",
        )
    arrays = [
        name for name in radar_fields.used_fields(available, names) if dtype[name].shape != ()
    ]
    if arrays:
        raise MessageError(
            f"PointCloud2 field(s) {arrays} have count > 1; the model needs one value per point",
            "pointcloud2.fields",
        )
    return available


def radar_points_from_cloud(
    msg: PointCloud2, names: RadarFieldNames = DEFAULT_FIELDS, max_points: int | None = None
) -> RadarPoints:
    """Extract coordinates and features; raises MessageError if a coordinate field is missing."""
    check_radar_cloud(msg, names, max_points)
    points = pointcloud2_to_array(msg, max_points)
    xyz = radar_fields.coordinates(points, names)
    features = radar_fields.features(points, xyz, names)
    finite = np.isfinite(xyz).all(axis=1)
    features = np.nan_to_num(features[finite], nan=0.0, posinf=0.0, neginf=0.0)
    return RadarPoints(xyz[finite], features, int((~finite).sum()))
