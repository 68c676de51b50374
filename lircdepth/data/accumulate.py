"""Lidar depth for a keyframe camera: the single keyframe sweep and a multi-keyframe stack.

Each keyframe lidar sweep of a scene is read once and kept in the global frame; the
points inside annotated boxes of movable objects are flagged once per sweep. A keyframe's
accumulated map then takes every point of its own sweep and only the static points of
the +/- N neighbouring keyframes (an object seen elsewhere would leave a trail), puts
them into its camera and z-buffers them (nearest depth wins a pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nuscenes.nuscenes import NuScenes

from lircdepth.data.boxes import inside_any
from lircdepth.data.nusc_sources import SensorPoses, load_lidar
from lircdepth.geometry import project_points, rasterize_depth, transform_points

# Lidar returns closer than this to the camera are the ego vehicle or noise
# (the devkit's own map_pointcloud_to_image default).
LIDAR_MIN_DEPTH = 1.0


def is_movable(category: str, movable_prefixes: tuple[str, ...]) -> bool:
    return category.startswith(movable_prefixes)


@dataclass
class SceneLidar:
    """The keyframe lidar sweeps of one scene, in the global frame, loaded once."""

    points: list[np.ndarray]  # per keyframe: N x 3 global
    static: list[np.ndarray]  # per keyframe: N bool, outside every movable-object box

    @classmethod
    def load(
        cls,
        nusc: NuScenes,
        poses: SensorPoses,
        lidar_tokens: list[str],
        movable_prefixes: tuple[str, ...],
        box_margin: float,
    ) -> SceneLidar:
        points, static = [], []
        for token in lidar_tokens:
            in_sensor = load_lidar(poses.path(token))
            in_global = transform_points(poses.global_from_sensor(token), in_sensor)
            movable = [b for b in nusc.get_boxes(token) if is_movable(b.name, movable_prefixes)]
            points.append(in_global)
            static.append(~inside_any(in_global, movable, box_margin))
        return cls(points, static)

    def stacked(self, keyframe: int, window: int) -> np.ndarray:
        """All points of `keyframe` plus the static points of keyframes within +/- window."""
        first, last = max(0, keyframe - window), min(len(self.points) - 1, keyframe + window)
        parts = [
            self.points[j] if j == keyframe else self.points[j][self.static[j]]
            for j in range(first, last + 1)
        ]
        return np.concatenate(parts, axis=0)


def depth_map(
    points_global: np.ndarray,
    T_cam_from_global: np.ndarray,
    camera_matrix: np.ndarray,
    height: int,
    width: int,
) -> np.ndarray:
    """H x W z-buffered depth of global-frame points seen by a camera (0 = empty)."""
    uv, depth = project_points(transform_points(T_cam_from_global, points_global), camera_matrix)
    return rasterize_depth(uv, depth, height, width, min_depth=LIDAR_MIN_DEPTH)
