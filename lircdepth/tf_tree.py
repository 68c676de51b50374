"""Transform-tree arithmetic shared by the bag reader and the ROS node's TF buffer.

A tree is a set of edges child -> parent; each edge keeps its recorded transforms
(4x4 `T_parent_from_child`) by stamp. Stamps are plain sortable numbers: the bag reader
uses integer nanoseconds, the live buffer float seconds. Between two recorded stamps an
edge is interpolated (translation linearly, rotation along the great circle); within a
caller's window beyond the first or last stamp it is extrapolated at the same constant
velocity. A recorded stamp gives the recorded matrix unchanged. ROS-free: the ROS side
feeds it from its messages.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.spatial.transform import Rotation


def blend(
    a: np.ndarray,
    b: np.ndarray,
    fraction: float,
    rotation_a: Rotation | None = None,
    rotation_b: Rotation | None = None,
) -> np.ndarray:
    """The rigid transform `fraction` of the way from a to b (0 = a, 1 = b; beyond: extrapolated).

    `rotation_a`/`rotation_b`: the rotations of a and b when the caller already holds them
    (taken from the matrices otherwise)."""
    ra = Rotation.from_matrix(a[:3, :3]) if rotation_a is None else rotation_a
    rb = Rotation.from_matrix(b[:3, :3]) if rotation_b is None else rotation_b
    rotation = ra * Rotation.from_rotvec(fraction * (ra.inv() * rb).as_rotvec())
    matrix = np.eye(4)
    matrix[:3, :3] = rotation.as_matrix()
    matrix[:3, 3] = (1 - fraction) * a[:3, 3] + fraction * b[:3, 3]
    return matrix


@dataclass
class EdgeHistory:
    """The recorded transforms child -> parent of one child frame, sorted by stamp.

    `rotations[i]` is the rotation of `matrices[i]` when the feeder had it at hand (None:
    taken from the matrix when an interpolation needs it)."""

    parent: str
    static: bool
    stamps: list = field(default_factory=list)
    matrices: list[np.ndarray] = field(default_factory=list)
    rotations: list[Rotation | None] = field(default_factory=list)

    def insert(self, stamp, matrix: np.ndarray, rotation: Rotation | None = None) -> None:
        """Record one transform (a static edge keeps only the newest)."""
        if self.static:
            self.stamps, self.matrices, self.rotations = [stamp], [matrix], [rotation]
            return
        index = bisect.bisect_left(self.stamps, stamp)
        if index < len(self.stamps) and self.stamps[index] == stamp:
            self.matrices[index], self.rotations[index] = matrix, rotation
        else:
            self.stamps.insert(index, stamp)
            self.matrices.insert(index, matrix)
            self.rotations.insert(index, rotation)

    def forget_older_than(self, span) -> None:
        """Drop the transforms more than `span` older than the newest."""
        keep_from = bisect.bisect_left(self.stamps, self.stamps[-1] - span)
        del self.stamps[:keep_from], self.matrices[:keep_from], self.rotations[:keep_from]

    def at(self, stamp, window) -> np.ndarray | None:
        """T_parent_from_child at `stamp`; None when it is further than `window` outside."""
        if self.static or len(self.stamps) == 1:
            near = self.static or abs(stamp - self.stamps[0]) <= window
            return self.matrices[0] if near else None
        index = bisect.bisect_left(self.stamps, stamp)
        if index < len(self.stamps) and self.stamps[index] == stamp:
            return self.matrices[index]
        if index == 0:
            if self.stamps[0] - stamp > window:
                return None
            index = 1
        elif index == len(self.stamps):
            if stamp - self.stamps[-1] > window:
                return None
            index -= 1
        lower, upper = index - 1, index
        fraction = (stamp - self.stamps[lower]) / (self.stamps[upper] - self.stamps[lower])
        return blend(
            self.matrices[lower],
            self.matrices[upper],
            fraction,
            self.rotations[lower],
            self.rotations[upper],
        )


def path_to_root(parents: Mapping[str, str], frame: str, max_depth: int) -> list[str]:
    """[frame, its parent, ...] up to the root, at most `max_depth` + 1 frames (a loop
    stops there: the caller decides whether that is an error)."""
    path = [frame]
    while path[-1] in parents and len(path) <= max_depth:
        path.append(parents[path[-1]])
    return path


def common_frame(source_path: list[str], target_path: list[str]) -> str | None:
    """The first frame of `source_path` that `target_path` holds too (None: not connected)."""
    return next((frame for frame in source_path if frame in target_path), None)


def compose_to_ancestor(
    path: list[str], ancestor: str, edge_at: Callable[[str], np.ndarray]
) -> np.ndarray:
    """T_ancestor_from_path[0]: the edges `edge_at(child)` from `ancestor` down the path."""
    matrix = None
    for child in reversed(path[: path.index(ancestor)]):
        edge = edge_at(child)
        matrix = edge if matrix is None else matrix @ edge
    return np.eye(4) if matrix is None else matrix


class FixedFrameLookup:
    """`lookup_full` (tf2's fixed-frame time travel) for any class with a timed `lookup`."""

    if TYPE_CHECKING:  # what the class using it provides (not defined here: no shadowing)

        def lookup(self, target: str, source: str, time: Any) -> np.ndarray: ...

    def lookup_full(self, target: str, target_time, source: str, source_time, fixed: str):
        """T_target(target_time)_from_source(source_time), travelling through the `fixed` frame."""
        return self.lookup(target, fixed, target_time) @ self.lookup(fixed, source, source_time)
