"""Exact ray casting against the ground plane and the scene's oriented boxes (vectorised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lircdepth.synth.world import Snapshot

GROUND = -1
NOTHING = -2


@dataclass
class Hits:
    """Nearest hit per ray: distance parameter t (inf: none), object id, world normal."""

    t: np.ndarray
    obj: np.ndarray
    normal: np.ndarray
    face_axis: np.ndarray  # box-frame axis (0 x, 1 y, 2 z) of the face that was hit


def cast(
    origin: np.ndarray,
    directions: np.ndarray,
    boxes: Snapshot,
    max_range: float,
    candidates: dict[int, np.ndarray] | None = None,
    hit_ground: bool = True,
) -> Hits:
    """Intersect rays origin + t * direction (t > 0) with ground (z = 0) and boxes.

    `max_range` bounds the horizontal distance of ground hits and culls far boxes.
    `candidates` optionally maps box index -> indices of the rays that may hit it
    (screen-space culling for the camera); default: `cone_candidates`. Where two boxes
    are hit at exactly the same t, the nearer box centre wins.
    """
    if candidates is None:
        candidates = cone_candidates(origin, directions, boxes, max_range)
    n = len(directions)
    t = np.full(n, np.inf)
    obj = np.full(n, NOTHING, dtype=np.int64)
    normal = np.zeros((n, 3))
    face_axis = np.full(n, 2, dtype=np.int64)
    if hit_ground:
        with np.errstate(divide="ignore", invalid="ignore"):
            t_ground = -origin[2] / directions[:, 2]
        horizontal = t_ground * np.hypot(directions[:, 0], directions[:, 1])
        ground = (directions[:, 2] < 0) & (t_ground > 0) & (horizontal < max_range)
        t[ground] = t_ground[ground]
        obj[ground] = GROUND
        normal[ground] = (0.0, 0.0, 1.0)
    ray_length = np.linalg.norm(directions, axis=1)
    radius = np.linalg.norm(boxes.sizes, axis=1) / 2
    reach = np.linalg.norm(boxes.centres[:, :2] - origin[:2], axis=1) - radius
    nearest = np.maximum(np.linalg.norm(boxes.centres - origin, axis=1) - radius, 0.0)
    for i in sorted(candidates, key=lambda i: (nearest[i], i)):
        rays = candidates[i]
        if reach[i] >= max_range:
            continue
        # Near boxes first: a ray already stopped before this box's bounding sphere
        # cannot hit it, which culls most rays of occluded or far boxes cheaply.
        rays = rays[t[rays] * ray_length[rays] > nearest[i]]
        if len(rays) == 0:
            continue
        rotation = boxes.box_rotation(i)
        half = boxes.half_extents(i)
        o_local = rotation.T @ (origin - boxes.centres[i])
        d_local = directions[rays] @ rotation
        d_safe = np.where(np.abs(d_local) < 1e-12, 1e-12, d_local)
        t1 = (-half - o_local) / d_safe
        t2 = (half - o_local) / d_safe
        t_enter_axes = np.minimum(t1, t2)
        t_enter = t_enter_axes.max(axis=1)
        t_exit = np.maximum(t1, t2).min(axis=1)
        hit = (t_enter <= t_exit) & (t_enter > 1e-6) & (t_enter < t[rays])
        if not hit.any():
            continue
        index, axis = rays[hit], t_enter_axes[hit].argmax(axis=1)
        n_local = np.zeros((len(index), 3))
        n_local[np.arange(len(index)), axis] = -np.sign(d_local[hit, axis])
        t[index] = t_enter[hit]
        obj[index] = i
        normal[index] = n_local @ rotation.T
        face_axis[index] = axis
    return Hits(t, obj, normal, face_axis)


def cone_candidates(
    origin: np.ndarray, directions: np.ndarray, boxes: Snapshot, max_range: float
) -> dict[int, np.ndarray]:
    """Rays that may hit each box: those within the cone around its bounding sphere.

    Exact slab tests on every ray against every box dominate the lidar's cost; one
    matrix product of unit directions against unit centre directions culls almost all.
    Boxes farther than `max_range` (horizontally) are dropped; a box whose bounding
    sphere holds the origin keeps every ray.
    """
    offsets = boxes.centres - origin
    distance = np.linalg.norm(offsets, axis=1)
    radius = np.linalg.norm(boxes.sizes, axis=1) / 2 + 1e-3
    near = np.linalg.norm(offsets[:, :2], axis=1) - radius < max_range
    every_ray = np.arange(len(directions))
    candidates = {int(i): every_ray for i in np.flatnonzero(near & (distance <= radius))}
    coned = np.flatnonzero(near & (distance > radius))
    if len(coned) == 0:
        return candidates
    unit_rays = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    axes = offsets[coned] / distance[coned, None]
    min_cos = np.cos(np.arcsin(radius[coned] / distance[coned]) + 1e-3)
    inside = (axes @ unit_rays.T) >= min_cos[:, None]
    for row, i in enumerate(coned):
        candidates[int(i)] = np.flatnonzero(inside[row])
    return candidates
