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
    (screen-space culling for the camera); default: every ray is tested.
    """
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
    reach = np.linalg.norm(boxes.centres[:, :2] - origin[:2], axis=1) - np.linalg.norm(
        boxes.sizes, axis=1
    )
    for i in np.flatnonzero(reach < max_range):
        rays = candidates.get(i) if candidates is not None else None
        if candidates is not None and (rays is None or len(rays) == 0):
            continue
        rotation = boxes.box_rotation(i)
        half = boxes.half_extents(i)
        o_local = rotation.T @ (origin - boxes.centres[i])
        d_local = (directions if rays is None else directions[rays]) @ rotation
        d_safe = np.where(np.abs(d_local) < 1e-12, 1e-12, d_local)
        t1 = (-half - o_local) / d_safe
        t2 = (half - o_local) / d_safe
        t_enter_axes = np.minimum(t1, t2)
        t_enter = t_enter_axes.max(axis=1)
        t_exit = np.maximum(t1, t2).min(axis=1)
        index = np.arange(n) if rays is None else rays
        hit = (t_enter <= t_exit) & (t_enter > 1e-6) & (t_enter < t[index])
        if not hit.any():
            continue
        index, axis = index[hit], t_enter_axes[hit].argmax(axis=1)
        n_local = np.zeros((len(index), 3))
        n_local[np.arange(len(index)), axis] = -np.sign(d_local[hit, axis])
        t[index] = t_enter[hit]
        obj[index] = i
        normal[index] = n_local @ rotation.T
        face_axis[index] = axis
    return Hits(t, obj, normal, face_axis)
