"""The transform tree a bag records, from `/tf_static` and `/tf`, queried at any stamp.

Bags made by this project carry the sensor mounts on `/tf_static` and an ego pose
(`map` -> `base_link`) on `/tf` at every sensor stamp. Community bags (the nuscenes2bag
layout) carry everything on `/tf` at about 2 Hz: `map` -> `base_link` and `base_link` ->
each sensor, for the keyframe and the next one. Between two recorded stamps a transform
is interpolated (translation linearly, rotation along the great circle); beyond the first
or last stamp it is extrapolated at the same constant velocity for at most
`max_extrapolation_ns` (default 0.25 s, half the 2 Hz pose period), further is an error.
At a recorded stamp the recorded matrix is returned unchanged (bit for bit what offline
preparation builds from the same quaternion and translation).
"""

from __future__ import annotations

import numpy as np

from lircdepth.bagdata.errors import MissingTopicError
from lircdepth.geometry import invert_transform, make_transform
from lircdepth.tf_tree import EdgeHistory, common_frame, compose_to_ancestor, path_to_root

DEFAULT_EXTRAPOLATION_NS = 250_000_000
MAX_TREE_DEPTH = 64


class TransformLookupError(MissingTopicError):
    """No transform between two frames at a stamp (unknown frame, outside the window)."""


def stamp_ns(stamp) -> int:
    """Nanoseconds of a builtin_interfaces/Time (rosbags or rclpy message)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def transform_matrix(transform_stamped) -> np.ndarray:
    """4x4 T_parent_from_child of a geometry_msgs/TransformStamped."""
    t = transform_stamped.transform
    q = t.rotation
    return make_transform(
        np.array([q.w, q.x, q.y, q.z]), [t.translation.x, t.translation.y, t.translation.z]
    )


class TransformTree:
    """Every transform of a bag's /tf_static and /tf; `lookup` chains through the tree."""

    def __init__(self, where: str = "bag", max_extrapolation_ns: int = DEFAULT_EXTRAPOLATION_NS):
        self.where = where
        self.max_extrapolation_ns = int(max_extrapolation_ns)
        self.edges: dict[str, EdgeHistory] = {}

    def add_message(self, tf_message, static: bool) -> None:
        """Add every transform of a tf2_msgs/TFMessage (a frame on /tf_static stays static)."""
        for transform in tf_message.transforms:
            self.add(transform, static)

    def add(self, transform_stamped, static: bool) -> None:
        parent = transform_stamped.header.frame_id.lstrip("/")
        child = transform_stamped.child_frame_id.lstrip("/")
        if not parent or not child or parent == child:
            return  # tf2 ignores such transforms too
        history = self.edges.get(child)
        if history is not None and history.static and not static:
            return  # /tf_static wins for a frame both carry
        if history is None or history.parent != parent or history.static != static:
            history = self.edges[child] = EdgeHistory(parent, static)
        history.insert(
            stamp_ns(transform_stamped.header.stamp), transform_matrix(transform_stamped)
        )

    @property
    def frames(self) -> set[str]:
        return set(self.edges) | {e.parent for e in self.edges.values()}

    def has_frame(self, frame: str) -> bool:
        return frame in self.frames

    def stamps(self, child: str) -> list[int]:
        """The recorded stamps (ns) of the transform to `child` from its parent."""
        return list(self.edges[child].stamps) if child in self.edges else []

    def _edge(self, child: str, stamp: int) -> np.ndarray:
        history = self.edges[child]
        matrix = history.at(stamp, self.max_extrapolation_ns)
        if matrix is None:
            raise TransformLookupError(
                f"{self.where}: transform {history.parent} -> {child} at {stamp} ns is more than "
                f"{self.max_extrapolation_ns / 1e9:g} s outside the recorded "
                f"[{history.stamps[0]}, {history.stamps[-1]}] ns"
            )
        return matrix

    def _chain(self, frame: str) -> list[str]:
        parents = {child: edge.parent for child, edge in self.edges.items()}
        return path_to_root(parents, frame, MAX_TREE_DEPTH)

    def to_ancestor(self, ancestor: str, frame: str, stamp: int) -> np.ndarray:
        """T_ancestor_from_frame at `stamp` (composed from the ancestor down)."""
        chain = self._chain(frame)
        if ancestor not in chain:
            raise TransformLookupError(
                f"{self.where}: no transform from {frame!r} to {ancestor!r} on /tf or /tf_static "
                f"(frames: {', '.join(sorted(self.frames)) or 'none'})"
            )
        return compose_to_ancestor(chain, ancestor, lambda child: self._edge(child, stamp))

    def lookup(self, target: str, source: str, stamp: int) -> np.ndarray:
        """T_target_from_source at one stamp (ns)."""
        source_chain, target_chain = self._chain(source), self._chain(target)
        common = common_frame(source_chain, target_chain)
        if common is None:
            raise TransformLookupError(
                f"{self.where}: frames {source!r} and {target!r} are not connected by /tf or /tf_static "
                f"(frames: {', '.join(sorted(self.frames)) or 'none'})"
            )
        if common == target:
            return self.to_ancestor(target, source, stamp)
        return invert_transform(self.to_ancestor(common, target, stamp)) @ self.to_ancestor(
            common, source, stamp
        )

    def lookup_full(
        self, target: str, target_stamp: int, source: str, source_stamp: int, fixed: str
    ) -> np.ndarray:
        """T_target(t_target)_from_source(t_source) through the `fixed` frame (tf2's
        lookupTransform with a fixed frame): source -> fixed at its stamp, fixed -> target at
        the target's stamp."""
        return invert_transform(self.to_ancestor(fixed, target, target_stamp)) @ self.to_ancestor(
            fixed, source, source_stamp
        )
