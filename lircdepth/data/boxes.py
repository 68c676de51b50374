"""Annotated 3-D boxes: which points lie inside them, and their 2-D extent in the image.

Membership is computed with the devkit's `points_in_box`, one call per box, vectorised
over the points; boxes can be grown by a fixed margin (the devkit only scales boxes).
"""

from __future__ import annotations

import copy

import numpy as np
from nuscenes.utils.data_classes import Box
from nuscenes.utils.geometry_utils import BoxVisibility, box_in_image, points_in_box, view_points
from pyquaternion import Quaternion

# Corners closer than this to the camera plane are left out of a 2-D box (they would
# project to huge coordinates).
MIN_CORNER_DEPTH = 0.1
# Box height used when membership must ignore height (radar has no usable elevation).
UNBOUNDED_HEIGHT = 1e4
# nuScenes movable-object categories (the devkit's category prefixes). Their points are
# taken from the current frame only when lidar is accumulated.
MOVABLE_PREFIXES = ("vehicle.", "human.", "animal", "movable_object.")
# The 7 categories whose boxes the published code associates radar points with. Matched
# as prefixes like the others; none of them is a prefix of another nuScenes category, so
# on nuScenes this is exact membership.
RADAR_BOX_CATEGORIES = (
    "vehicle.car",
    "vehicle.motorcycle",
    "vehicle.bicycle",
    "vehicle.bus.rigid",
    "vehicle.truck",
    "vehicle.trailer",
    "human.pedestrian.adult",
)
BOX_WINNERS = ("later", "nearest")


def is_movable(category: str, movable_prefixes: tuple[str, ...] = MOVABLE_PREFIXES) -> bool:
    return category.startswith(tuple(movable_prefixes))


def grown(box: Box, margin: float, ignore_height: bool = False) -> Box:
    """A copy of `box` with `margin` metres added on every side."""
    bigger = copy.deepcopy(box)
    bigger.wlh = np.asarray(box.wlh, dtype=np.float64) + 2.0 * margin
    if ignore_height:
        bigger.wlh[2] = UNBOUNDED_HEIGHT
    return bigger


def inside_any(points: np.ndarray, boxes: list[Box], margin: float) -> np.ndarray:
    """N-bool: point (N x 3, same frame as the boxes) lies in at least one grown box."""
    inside = np.zeros(len(points), dtype=bool)
    for box in boxes:
        inside |= points_in_box(grown(box, margin), points.T)
    return inside


def _rotations_about_z(angles: np.ndarray) -> np.ndarray:
    cos, sin = np.cos(angles), np.sin(angles)
    rotations = np.zeros((len(angles), 3, 3))
    rotations[:, 0, 0], rotations[:, 0, 1] = cos, -sin
    rotations[:, 1, 0], rotations[:, 1, 1] = sin, cos
    rotations[:, 2, 2] = 1.0
    return rotations


def assign_to_boxes(
    points: np.ndarray,
    boxes: list[Box],
    sensor_position: np.ndarray,
    margin: float = 0.0,
    azimuth_tolerance_deg: float = 0.0,
    ignore_height: bool = False,
    azimuth_steps: int = 5,
    winner: str = "later",
) -> np.ndarray:
    """Index of the box each radar point belongs to, -1 for none.

    With the defaults this is the strict test (the published one): the point lies in
    the annotated box. The tolerant variant allows for radar being coarse in angle and
    without elevation: a point belongs to a box when the box grown by `margin` (height
    ignored with `ignore_height`) contains the point or the point turned about the
    sensor's vertical axis by any angle within +/- `azimuth_tolerance_deg`. Where
    several boxes qualify, `winner` decides: "later" (published: the later box in
    `boxes` overwrites) or "nearest" (the box whose centre is nearest in x, y).
    """
    if winner not in BOX_WINNERS:
        raise ValueError(f"winner must be one of {', '.join(BOX_WINNERS)}, got {winner!r}")
    points = np.asarray(points, dtype=np.float64)
    owner = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or not boxes:
        return owner
    steps = azimuth_steps if azimuth_tolerance_deg > 0 else 1
    angles = np.deg2rad(np.linspace(-azimuth_tolerance_deg, azimuth_tolerance_deg, steps))
    relative = points - sensor_position
    turned = np.einsum("aij,nj->ani", _rotations_about_z(angles), relative) + sensor_position
    turned = turned.reshape(-1, 3)
    best_distance = np.full(len(points), np.inf)
    for index, box in enumerate(boxes):
        hit = points_in_box(grown(box, margin, ignore_height), turned.T)
        hit = hit.reshape(len(angles), len(points)).any(axis=0)
        distance = np.linalg.norm(points[:, :2] - np.asarray(box.center)[:2], axis=1)
        better = hit & (distance < best_distance) if winner == "nearest" else hit
        owner[better] = index
        best_distance[better] = distance[better]
    return owner


def image_boxes(
    boxes: list[Box],
    T_cam_from_global: np.ndarray,
    camera_matrix: np.ndarray,
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """2-D boxes (M x 4: u_min, v_min, u_max, v_max, clipped to [0, W] x [0, H]) of the
    boxes seen in the image (the published association takes int() of these corners as
    end-excluded slice bounds, so a box reaching past the right edge ends at W).

    Returns the boxes and, for each input box, its row in them or -1 when not visible.
    """
    rotation = Quaternion(matrix=T_cam_from_global[:3, :3], atol=1e-6)
    rows: list[list[float]] = []
    row_of_box = np.full(len(boxes), -1, dtype=np.int64)
    for index, box in enumerate(boxes):
        in_camera = copy.deepcopy(box)
        in_camera.rotate(rotation)
        in_camera.translate(T_cam_from_global[:3, 3])
        if not box_in_image(in_camera, camera_matrix, (width, height), BoxVisibility.ANY):
            continue
        corners = in_camera.corners()
        corners = corners[:, corners[2] > MIN_CORNER_DEPTH]
        uv = view_points(corners, camera_matrix, normalize=True)[:2]
        u_min, v_min = np.clip(uv.min(axis=1), 0, [width, height])
        u_max, v_max = np.clip(uv.max(axis=1), 0, [width, height])
        if u_max <= u_min or v_max <= v_min:
            continue
        row_of_box[index] = len(rows)
        rows.append([u_min, v_min, u_max, v_max])
    return np.asarray(rows, dtype=np.float32).reshape(-1, 4), row_of_box
