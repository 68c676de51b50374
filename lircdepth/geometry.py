"""Rigid transforms, pinhole projection and z-buffered rasterisation.

This is the one place where points become pixels. Dataset preparation, the inference
API, the ROS node and the bag tools all call these functions, so training and
deployment see identical radar maps and depth maps.

Conventions: metres; 4x4 homogeneous transforms `T_a_from_b` map points in frame b to
frame a; pixel (u, v) = (column, row); a rasterised map holds 0 where nothing landed.
In a depth map the nearest point wins a pixel; in a radar map the rule is a parameter:
"last" (the published one: within a sweep the later point overwrites) or "nearest".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# Radar map channels, in order (DESIGN: depth, rcs, vx, vy).
RADAR_CHANNELS = ("depth", "rcs", "vx", "vy")
# Method: a radar point is kept if its depth exceeds 1 m and it lies strictly inside a
# one-pixel border.
RADAR_MIN_DEPTH = 1.0
RADAR_BORDER = 1
# Which point of several on one radar pixel wins: "last" in array order (the published
# code writes the points in turn) or "nearest" (smallest depth; for accumulated sweeps).
RADAR_RULES = ("last", "nearest")
DEFAULT_RADAR_RULE = "last"


def quaternion_to_matrix(q_wxyz: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion given as (w, x, y, z), the nuScenes order."""
    w, x, y, z = np.asarray(q_wxyz, dtype=np.float64) / np.linalg.norm(q_wxyz)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(w, x, y, z) of a rotation matrix, with w >= 0 (numerically stable branch choice)."""
    m = np.asarray(rotation, dtype=np.float64)
    trace = np.trace(m)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0, 0.0, 0.0, 0.0]
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (m[j, i] + m[i, j]) / s
        q[1 + k] = (m[k, i] + m[i, k]) / s
    quaternion = np.asarray(q)
    return quaternion if quaternion[0] >= 0 else -quaternion


def make_transform(rotation: ArrayLike, translation: ArrayLike) -> np.ndarray:
    """4x4 transform from a 3x3 rotation or a (w, x, y, z) quaternion and a translation."""
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape == (4,):
        rotation = quaternion_to_matrix(rotation)
    transform = np.eye(4)
    transform[:3, :3] = rotation
    transform[:3, 3] = np.asarray(translation, dtype=np.float64)
    return transform


def invert_transform(transform: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform (no general matrix inverse needed)."""
    inverse = np.eye(4)
    rotation_t = transform[:3, :3].T
    inverse[:3, :3] = rotation_t
    inverse[:3, 3] = -rotation_t @ transform[:3, 3]
    return inverse


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 transform to N x 3 points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ transform[:3, :3].T + transform[:3, 3]


def project_points(
    points_cam: np.ndarray, camera_matrix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole projection of N x 3 camera-frame points: (N x 2 pixel coords, N depths).

    Depth is the camera z coordinate. Points at or behind the camera get non-finite
    pixel coordinates; callers drop them with `in_image_mask`.
    """
    points_cam = np.asarray(points_cam, dtype=np.float64)
    depth = points_cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uvw = points_cam @ np.asarray(camera_matrix, dtype=np.float64).T
        uv = uvw[:, :2] / uvw[:, 2:3]
    return uv, depth


def in_image_mask(
    uv: np.ndarray,
    depth: np.ndarray,
    height: int,
    width: int,
    min_depth: float,
    border: float = 0.0,
) -> np.ndarray:
    """Points in front of the camera (depth > min_depth) and inside the image minus a border.

    With border b the kept range is b < u < W - b, b < v < H - b (the method's rule for
    radar uses b = 1); with b = 0 it is 0 <= u < W, 0 <= v < H after rounding.
    """
    u, v = uv[:, 0], uv[:, 1]
    finite = np.isfinite(u) & np.isfinite(v) & np.isfinite(depth)
    if border > 0:
        inside = (u > border) & (u < width - border) & (v > border) & (v < height - border)
    else:
        ur, vr = np.round(u), np.round(v)
        inside = (ur >= 0) & (ur <= width - 1) & (vr >= 0) & (vr <= height - 1)
    return finite & inside & (depth > min_depth)


def nearest_per_pixel(
    rows: np.ndarray, cols: np.ndarray, depth: np.ndarray, width: int
) -> np.ndarray:
    """Indices of the points that win their pixel (smallest depth; ties: first point).

    Vectorised z-buffer: sort by (pixel, depth) and keep each pixel's first entry.
    """
    pixel = rows.astype(np.int64) * width + cols.astype(np.int64)
    order = np.lexsort((depth, pixel))
    _, first = np.unique(pixel[order], return_index=True)
    return order[first]


def rasterize_depth(
    uv: np.ndarray, depth: np.ndarray, height: int, width: int, min_depth: float = 0.0
) -> np.ndarray:
    """H x W float32 depth map from projected points: nearest point per pixel, 0 = empty."""
    keep = in_image_mask(uv, depth, height, width, min_depth)
    rows = np.round(uv[keep, 1]).astype(np.int64)
    cols = np.round(uv[keep, 0]).astype(np.int64)
    kept_depth = depth[keep]
    winners = nearest_per_pixel(rows, cols, kept_depth, width)
    depth_map = np.zeros((height, width), dtype=np.float32)
    depth_map[rows[winners], cols[winners]] = kept_depth[winners]
    return depth_map


def last_per_pixel(rows: np.ndarray, cols: np.ndarray, width: int) -> np.ndarray:
    """Indices of the points that win their pixel when later points overwrite earlier ones."""
    pixel = rows.astype(np.int64) * width + cols.astype(np.int64)
    _, first_from_end = np.unique(pixel[::-1], return_index=True)
    return len(pixel) - 1 - first_from_end


def check_radar_rule(rule: str) -> str:
    if rule not in RADAR_RULES:
        raise ValueError(f"radar rule must be one of {', '.join(RADAR_RULES)}, got {rule!r}")
    return rule


def select_radar_pixels(
    radar_points: np.ndarray, height: int, width: int, rule: str = DEFAULT_RADAR_RULE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the method's radar rules to projected points; return (rows, cols, point index).

    `radar_points` is N x (3 + F): u, v, depth, features... A point is kept when
    depth > 1 m and 1 < u < W-1, 1 < v < H-1; its pixel is round(u, v); where several
    points share a pixel, `rule` picks the winner ("last" or "nearest").
    """
    check_radar_rule(rule)
    radar_points = np.asarray(radar_points, dtype=np.float64).reshape(-1, radar_points.shape[-1])
    uv, depth = radar_points[:, :2], radar_points[:, 2]
    keep = np.flatnonzero(in_image_mask(uv, depth, height, width, RADAR_MIN_DEPTH, RADAR_BORDER))
    rows = np.round(uv[keep, 1]).astype(np.int64)
    cols = np.round(uv[keep, 0]).astype(np.int64)
    if rule == "last":
        winners = last_per_pixel(rows, cols, width)
    else:
        winners = nearest_per_pixel(rows, cols, depth[keep], width)
    return rows[winners], cols[winners], keep[winners]


def rasterize_radar(
    radar_points: np.ndarray, height: int, width: int, rule: str = DEFAULT_RADAR_RULE
) -> np.ndarray:
    """4 x H x W float32 radar map (depth, rcs, vx, vy) from N x 6 projected radar points.

    Columns of `radar_points`: u, v, depth, rcs, vx, vy; H x W is the full camera image
    (the border test is on it; crop the map afterwards). This single function builds the
    network's radar input everywhere (Dataset, inference, ROS node), all with the default
    `rule` unless a caller chooses one.
    """
    radar_points = np.asarray(radar_points, dtype=np.float64)
    if radar_points.ndim != 2 or radar_points.shape[1] != 3 + len(RADAR_CHANNELS) - 1:
        raise ValueError(
            f"radar points must be N x 6 (u, v, depth, rcs, vx, vy), got shape {radar_points.shape}"
        )
    radar_map = np.zeros((len(RADAR_CHANNELS), height, width), dtype=np.float32)
    rows, cols, index = select_radar_pixels(radar_points, height, width, rule)
    radar_map[:, rows, cols] = radar_points[index, 2:].T
    return radar_map


def project_radar(
    points_cam: np.ndarray, features: np.ndarray, camera_matrix: np.ndarray
) -> np.ndarray:
    """N x 6 (u, v, depth, rcs, vx, vy) from camera-frame radar points and N x 3 features."""
    uv, depth = project_points(points_cam, camera_matrix)
    return np.column_stack([uv, depth, np.asarray(features, dtype=np.float64)])


def backproject_depth(depth_map: np.ndarray, camera_matrix: np.ndarray) -> np.ndarray:
    """H x W x 3 camera-frame points of a depth map (inverse of `project_points`); depth 0 -> 0."""
    height, width = depth_map.shape
    fx, fy = camera_matrix[0, 0], camera_matrix[1, 1]
    cx, cy = camera_matrix[0, 2], camera_matrix[1, 2]
    z = np.asarray(depth_map, dtype=np.float32)
    x = (np.arange(width, dtype=np.float32)[None, :] - cx) / fx * z
    y = (np.arange(height, dtype=np.float32)[:, None] - cy) / fy * z
    return np.stack([x, y, z], axis=-1)
