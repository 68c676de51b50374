"""Radar association labels for the teacher's confidence head (method.md sections 1 and 7).

For every radar point the radar map can use, in the stored (file) order, a patch around
its pixel is examined: the 2-D box of the object the point belongs to, else a window of
+/- 150 px horizontally and +/- 50 px vertically at 1600 x 900 (the published
`--patch_size 50 150`), scaled with the image size. Pixels of the patch whose
interpolated depth is within 0.4 m of the point's depth get 1, the others 0, and each
point's patch overwrites the label in turn, as the published code does: a later point
can clear what an earlier one set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lircdepth.geometry import RADAR_BORDER, RADAR_MIN_DEPTH, in_image_mask

REFERENCE_SIZE = (1600, 900)  # W x H of the published patch size
PATCH_HALF_SIZE = (50, 150)  # vertical, horizontal half size at the reference size
DEPTH_TOLERANCE = 0.4


@dataclass(frozen=True)
class AssociationConfig:
    """`patch_half_size`: (vertical, horizontal) pixels each way at 1600 x 900."""

    patch_half_size: tuple[int, int] = PATCH_HALF_SIZE
    depth_tolerance: float = DEPTH_TOLERANCE


def patch_bounds(
    radar_points: np.ndarray,
    boxes_2d: np.ndarray,
    height: int,
    width: int,
    config: AssociationConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer patches (K x 4: u0, v0, u1, v1, end-exclusive) and depths, in point order.

    `radar_points` is N x 7 (u, v, depth, rcs, vx, vy, object index; 0 = none); points
    outside the radar rules (depth > 1 m, 1 px border) get no patch.
    """
    config = config or AssociationConfig()
    uv, depth = radar_points[:, :2], radar_points[:, 2]
    keep = np.flatnonzero(in_image_mask(uv, depth, height, width, RADAR_MIN_DEPTH, RADAR_BORDER))
    cols = np.round(uv[keep, 0]).astype(np.int64)
    rows = np.round(uv[keep, 1]).astype(np.int64)
    half_v = int(round(config.patch_half_size[0] * height / REFERENCE_SIZE[1]))
    half_u = int(round(config.patch_half_size[1] * width / REFERENCE_SIZE[0]))
    bounds = np.column_stack([cols - half_u, rows - half_v, cols + half_u + 1, rows + half_v + 1])
    objects = radar_points[keep, 6].astype(np.int64)
    on_object = objects > 0
    if on_object.any():
        boxes = boxes_2d[objects[on_object] - 1]
        bounds[on_object] = np.column_stack(
            [np.floor(boxes[:, :2]), np.floor(boxes[:, 2:]) + 1]
        ).astype(np.int64)
    bounds = np.clip(bounds, 0, [width, height, width, height])
    return bounds, depth[keep]


def association_label(
    radar_points: np.ndarray,
    boxes_2d: np.ndarray,
    depth_interp: np.ndarray,
    config: AssociationConfig | None = None,
) -> np.ndarray:
    """H x W uint8 label: each point's patch in turn, 1 where the interpolated depth matches."""
    config = config or AssociationConfig()
    height, width = depth_interp.shape
    label = np.zeros((height, width), dtype=np.uint8)
    if len(radar_points) == 0:
        return label
    bounds, depths = patch_bounds(radar_points, boxes_2d, height, width, config)
    for (u0, v0, u1, v1), depth in zip(bounds, depths, strict=True):
        patch = depth_interp[v0:v1, u0:u1]
        label[v0:v1, u0:u1] = (patch > 0) & (np.abs(patch - depth) < config.depth_tolerance)
    return label
