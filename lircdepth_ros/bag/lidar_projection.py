"""Lidar sweep -> camera depth map, exactly as offline preparation builds `lidar_single`."""

from __future__ import annotations

import numpy as np

from lircdepth.geometry import project_points, rasterize_depth, transform_points

LIDAR_MIN_DEPTH = 1.0


def lidar_depth_map(
    points_lidar: np.ndarray,
    T_camera_from_lidar: np.ndarray,
    camera_matrix: np.ndarray,
    height: int,
    width: int,
) -> np.ndarray:
    """H x W float32 depth (metres, 0 = none) of N x 3 lidar points seen by the camera."""
    uv, depth = project_points(transform_points(T_camera_from_lidar, points_lidar), camera_matrix)
    return rasterize_depth(uv, depth, height, width, min_depth=LIDAR_MIN_DEPTH)
