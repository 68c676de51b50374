"""Radar association labels for the teacher's confidence head (method.md sections 1 and 7).

The published order: the radar points are first reduced to one per pixel (the last
stored point of a pixel wins, as when the published radar file is written) and then
visited in row-major pixel order (`np.nonzero` order of that file). For each, a patch
around its pixel is examined: the 2-D box of the object the point belongs to, else the
window [u - 150, u + 150) x [v - 50, v + 50) at 1600 x 900 (the published
`--patch_size 50 150`, end excluded as in a Python slice, cut at the image border),
scaled with the image size. Box patches are end-excluded too: columns
int(u_min)..int(u_max) - 1. Pixels of the patch whose interpolated depth is within
0.4 m of the point's depth get 1, the others 0, and each point's patch overwrites the
label in turn: a later point can clear what an earlier one set. The depth compared is
the interpolated map as its PNG stores it (metres rounded to 1/256), as the published
labels are computed from the decoded file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lircdepth.data.storage import stored_depth
from lircdepth.geometry import select_radar_pixels

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
    """Integer patches (K x 4: u0, v0, u1, v1, end-exclusive) and depths, in visiting order.

    `radar_points` is N x 7 (u, v, depth, rcs, vx, vy, object index; 0 = none); points
    outside the radar rules (depth > 1 m, 1 px border) get no patch; of several points
    on one pixel only the last one gets a patch; patches come in row-major pixel order.
    """
    config = config or AssociationConfig()
    radar_points = np.asarray(radar_points, dtype=np.float64)
    rows, cols, index = select_radar_pixels(radar_points[:, :6], height, width, "last")
    order = np.argsort(rows * width + cols, kind="stable")
    rows, cols, index = rows[order], cols[order], index[order]
    half_v = int(round(config.patch_half_size[0] * height / REFERENCE_SIZE[1]))
    half_u = int(round(config.patch_half_size[1] * width / REFERENCE_SIZE[0]))
    bounds = np.column_stack([cols - half_u, rows - half_v, cols + half_u, rows + half_v])
    objects = radar_points[index, 6].astype(np.int64)
    on_object = objects > 0
    if on_object.any():
        # int() of the box corners, as the published box file stores them.
        bounds[on_object] = np.trunc(boxes_2d[objects[on_object] - 1]).astype(np.int64)
    bounds = np.clip(bounds, 0, [width, height, width, height])
    return bounds, radar_points[index, 2]


def association_label(
    radar_points: np.ndarray,
    boxes_2d: np.ndarray,
    depth_interp: np.ndarray,
    config: AssociationConfig | None = None,
) -> np.ndarray:
    """H x W uint8 label: each point's patch in turn, 1 where the interpolated depth
    (rounded to 1/256 m as its PNG stores it) matches."""
    config = config or AssociationConfig()
    depth_interp = stored_depth(depth_interp)
    height, width = depth_interp.shape
    label = np.zeros((height, width), dtype=np.uint8)
    if len(radar_points) == 0:
        return label
    bounds, depths = patch_bounds(radar_points, boxes_2d, height, width, config)
    for (u0, v0, u1, v1), depth in zip(bounds, depths, strict=True):
        patch = depth_interp[v0:v1, u0:u1]
        label[v0:v1, u0:u1] = (patch > 0) & (np.abs(patch - depth) < config.depth_tolerance)
    return label
