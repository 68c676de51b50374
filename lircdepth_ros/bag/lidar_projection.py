"""Lidar points -> camera depth map, exactly as offline preparation builds `lidar_single`.

The devkit rule of `lidar_single` (1 px border margin, the last point wins a pixel), so
the sweep's point order matters: the bag keeps the file's. Offline evaluation reads `lidar_single` back from a uint16 PNG (metres x 256), so the
online ground truth is rounded to the same 1/256 m steps: same pixels, same values.
"""

from __future__ import annotations

import numpy as np

from lircdepth.data.accumulate import single_scan_map
from lircdepth.data.storage import DEPTH_SCALE, MAX_STORED_DEPTH
from lircdepth.geometry import transform_points


def stored_depth(depth: np.ndarray) -> np.ndarray:
    """Depth as it reads back from the derived dataset's uint16 PNG."""
    return np.round(np.clip(depth, 0.0, MAX_STORED_DEPTH) * DEPTH_SCALE).astype(
        np.uint16
    ) / np.float32(DEPTH_SCALE)


def lidar_depth_map(
    points_map: np.ndarray,
    T_camera_from_map: np.ndarray,
    camera_matrix: np.ndarray,
    height: int,
    width: int,
) -> np.ndarray:
    """H x W float32 depth (metres, 0 = none) of N x 3 map-frame lidar points seen by the camera."""
    points_cam = transform_points(T_camera_from_map, points_map)
    return stored_depth(single_scan_map(points_cam, camera_matrix, height, width))
