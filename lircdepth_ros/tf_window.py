"""Bounded extrapolation of dynamic transforms, for TF as community bags carry it.

Community nuScenes bags hold no `/tf_static`: every `/tf` message (one per keyframe, about
2 Hz) carries map -> base_link and base_link -> each sensor for the keyframe and the next
one. Between two stamps the buffer interpolates (linear translation, slerp rotation);
camera and radar stamps just before the first pose or after the last one (a camera is
stamped up to ~40 ms before its keyframe; the last keyframe has no pose after it) need a
little extrapolation, which tf2 refuses. `BoundedTransforms` wraps either transform
source (the project's TfBuffer or tf2_ros) and, when a lookup fails for lack of data at
that time, extrapolates at constant velocity from the two ends of the data within
`tf.extrapolation` seconds (0 = never); further out it fails as before. Before the
oldest data it extrapolates at once (older transforms never arrive); past the newest only
while `forward` is true: the node sets it once a pair has waited `tf.wait` for the real
transform, so live TF that trails the data is waited for, not guessed.

`lookup_full` is the fixed-frame time travel of tf2 (target at its time, source at its
time, through `fixed`), composed of two such lookups.
"""

from __future__ import annotations

import numpy as np
from rclpy.node import Node
from scipy.linalg import expm, logm

from lircdepth.geometry import invert_transform
from lircdepth.tf_tree import FixedFrameLookup, common_frame, path_to_root
from lircdepth_ros.tf_buffer import (
    MAX_TREE_DEPTH,
    Tf2RosTransforms,
    TfBuffer,
    TfListener,
    TransformError,
    clear_on_time_jump,
    tf2_ros,
)

# How far inside the data the second sample of the extrapolation is taken, seconds.
VELOCITY_SPAN = 0.5


def extrapolate(inner: np.ndarray, edge: np.ndarray, factor: float) -> np.ndarray:
    """inner @ (inner^-1 @ edge)^factor: the motion from `inner` to `edge` continued at the
    same velocity, a constant twist (factor 1 gives `edge`, 1.5 half an interval beyond)."""
    step = invert_transform(inner) @ edge
    motion = np.real(expm(factor * logm(step)))
    motion[3] = [0.0, 0.0, 0.0, 1.0]
    return inner @ motion


def chain_bounds(
    links: dict[str, tuple[str, tuple[float, float] | None]], target: str, source: str
) -> tuple[float, float] | None:
    """(oldest, newest) stamp every dynamic link between two frames covers.

    `links`: child -> (parent, (oldest, newest) or None for a static link). None when the
    frames are not connected or every link between them is static.
    """
    parents = {child: parent for child, (parent, _) in links.items()}
    up_source = path_to_root(parents, source, MAX_TREE_DEPTH)
    up_target = path_to_root(parents, target, MAX_TREE_DEPTH)
    common = common_frame(up_source, up_target)
    if common is None:
        return None
    chain = up_source[: up_source.index(common)] + up_target[: up_target.index(common)]
    spans = [span for child in chain if (span := links[child][1]) is not None]
    if not spans:
        return None
    return max(lo for lo, _ in spans), min(hi for _, hi in spans)


class BoundedTransforms(FixedFrameLookup):
    """A transform source whose timed lookups extrapolate up to `window` seconds."""

    def __init__(self, source, window: float) -> None:
        self.source = source
        self.window = window
        self.forward = True  # extrapolate past the newest data too

    def __getattr__(self, name: str):
        return getattr(self.source, name)

    def lookup(self, target: str, source: str, time: float | None = None) -> np.ndarray:
        try:
            return self.source.lookup(target, source, time)
        except TransformError as error:
            if time is None or self.window <= 0:
                raise
            bounds = chain_bounds(self.source.links(), target.lstrip("/"), source.lstrip("/"))
            if bounds is None or bounds[0] > bounds[1] or bounds[0] <= time <= bounds[1]:
                raise  # not a question of time: unknown frame, or a gap inside the data
            return self._extrapolated(target, source, time, bounds, error)

    def _extrapolated(
        self, target: str, source: str, time: float, bounds: tuple[float, float], error
    ) -> np.ndarray:
        oldest, newest = bounds
        edge = oldest if time < oldest else newest
        if edge == newest and not self.forward:
            raise error
        if abs(time - edge) > self.window:
            raise TransformError(
                f"{error} ({abs(time - edge):.3f} s beyond the data, more than "
                f"tf.extrapolation = {self.window:g} s)"
            ) from error
        span = min(newest - oldest, VELOCITY_SPAN)
        at_edge = self.source.lookup(target, source, edge)
        if span <= 0:
            return at_edge  # one stamp: held
        inner = edge + span if edge == oldest else edge - span
        at_inner = self.source.lookup(target, source, inner)
        return extrapolate(at_inner, at_edge, (time - inner) / (edge - inner))


def make_transform_source(
    node: Node, cache_time: float, on_bad_message=None, extrapolation: float = 0.0
):
    """tf2_ros when importable, else our TfBuffer fed by a TfListener; timed lookups
    extrapolate up to `extrapolation` seconds (tf_window.BoundedTransforms)."""
    if tf2_ros is not None:
        return BoundedTransforms(Tf2RosTransforms(node, cache_time), extrapolation)
    buffer = TfBuffer(cache_time)
    buffer.jump_handle = clear_on_time_jump(node, buffer)
    TfListener(node, buffer, on_bad_message)
    return BoundedTransforms(buffer, extrapolation)
