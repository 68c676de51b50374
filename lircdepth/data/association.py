"""Radar association labels for the teacher's confidence head (method.md section 1).

For every radar point that reaches the radar map, a patch around its pixel is examined:
the 2-D box of the object the point belongs to, else a fixed window (150 x 50 px at
1600 px width, scaled with the image width). Pixels of the patch whose interpolated
depth is within 0.4 m of the point's depth are labelled 1; the map is the union over
all points. All (point, pixel) pairs are built at once, so there is no per-point loop.
"""

from __future__ import annotations

import numpy as np

from lircdepth.geometry import select_radar_pixels

REFERENCE_WIDTH = 1600
WINDOW_SIZE = (150, 50)  # w x h at the reference width
DEPTH_TOLERANCE = 0.4


def patch_bounds(
    radar_points: np.ndarray, boxes_2d: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Integer patches (K x 4: u0, v0, u1, v1, end-exclusive) and depths of the map's points.

    `radar_points` is N x 7 (u, v, depth, rcs, vx, vy, object index; 0 = none).
    """
    rows, cols, index = select_radar_pixels(radar_points[:, :6], height, width)
    scale = width / REFERENCE_WIDTH
    half_w = int(round(WINDOW_SIZE[0] * scale / 2))
    half_h = int(round(WINDOW_SIZE[1] * scale / 2))
    bounds = np.column_stack([cols - half_w, rows - half_h, cols + half_w + 1, rows + half_h + 1])
    objects = radar_points[index, 6].astype(np.int64)
    on_object = objects > 0
    if on_object.any():
        boxes = boxes_2d[objects[on_object] - 1]
        bounds[on_object] = np.column_stack(
            [np.floor(boxes[:, :2]), np.floor(boxes[:, 2:]) + 1]
        ).astype(np.int64)
    bounds = np.clip(bounds, 0, [width, height, width, height])
    return bounds, radar_points[index, 2]


def association_label(
    radar_points: np.ndarray, boxes_2d: np.ndarray, depth_interp: np.ndarray
) -> np.ndarray:
    """H x W uint8 label: 1 where a radar point's patch has matching interpolated depth."""
    height, width = depth_interp.shape
    label = np.zeros((height, width), dtype=np.uint8)
    if len(radar_points) == 0:
        return label
    bounds, depth = patch_bounds(radar_points, boxes_2d, height, width)
    widths = np.maximum(bounds[:, 2] - bounds[:, 0], 0)
    areas = widths * np.maximum(bounds[:, 3] - bounds[:, 1], 0)
    owner = np.repeat(np.arange(len(bounds)), areas)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(areas) - areas, areas)
    rows = bounds[owner, 1] + offset // np.maximum(widths[owner], 1)
    cols = bounds[owner, 0] + offset % np.maximum(widths[owner], 1)
    target = depth_interp[rows, cols]
    match = (target > 0) & (np.abs(target - depth[owner]) < DEPTH_TOLERANCE)
    label[rows[match], cols[match]] = 1
    return label
