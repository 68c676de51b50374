"""A TF buffer: static + dynamic transforms, chains through the tree, interpolation in time.

Why our own: tf2_ros is not on PyPI. Where it is importable (a real ROS install),
`tf_window.make_transform_source` wraps tf2_ros.Buffer/TransformListener instead, behind the same
two lookup methods. Transforms returned are 4x4 `T_target_from_source` matrices.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
import yaml
from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from scipy.spatial.transform import Rotation

from lircdepth.geometry import invert_transform, make_transform
from lircdepth.tf_tree import (
    EdgeHistory,
    FixedFrameLookup,
    common_frame,
    compose_to_ancestor,
    path_to_root,
)
from lircdepth_ros.qos import latched_qos

if TYPE_CHECKING:
    from rclpy.clock import JumpHandle

try:
    import tf2_ros
except ImportError:
    tf2_ros = None

MAX_TREE_DEPTH = 100
TF_QOS = QoSProfile(
    depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
TF_STATIC_QOS = latched_qos(100)


# tf2's frame table prints stamps with 6 decimals: stay this far inside its bounds.
YAML_ROUNDING = 2e-6


class TransformError(LookupError):
    """No transform between two frames at the asked time (unknown frame, gap, extrapolation)."""


def stamp_to_seconds(stamp) -> float:
    """builtin_interfaces/Time -> float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def transform_msg_to_matrix(msg) -> np.ndarray:
    """geometry_msgs/Transform -> 4x4 matrix (ROS quaternions are x, y, z, w)."""
    t, q = msg.translation, msg.rotation
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    matrix[:3, 3] = [t.x, t.y, t.z]
    return matrix


class TfBuffer(FixedFrameLookup):
    """Thread-safe store of the transform tree; `cache_time` seconds of dynamic history.

    The tree arithmetic (edge histories, interpolation, chains) is the core's
    lircdepth.tf_tree, the one the bag reader uses; this adds ROS messages, float-second
    stamps, "newest" lookups and the cache limit."""

    name = "project buffer"
    # Set by tf_window.make_transform_source: keeps the clock's time-jump callback alive.
    jump_handle: JumpHandle

    def __init__(self, cache_time: float = 10.0) -> None:
        self.cache_time = cache_time
        self._frames: dict[str, EdgeHistory] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every transform (time jumped back: a looping bag under use_sim_time)."""
        with self._lock:
            self._frames.clear()

    def links(self) -> dict[str, tuple[str, tuple[float, float] | None]]:
        """child -> (parent, (oldest, newest) stamp, or None for a static transform)."""
        with self._lock:
            return {
                child: (h.parent, None if h.static else (h.stamps[0], h.stamps[-1]))
                for child, h in self._frames.items()
            }

    def set_transform(self, msg: TransformStamped, static: bool = False) -> None:
        """Add one geometry_msgs/TransformStamped (parent = header.frame_id)."""
        parent, child = msg.header.frame_id.lstrip("/"), msg.child_frame_id.lstrip("/")
        if not parent or not child or parent == child:
            raise TransformError(f"invalid transform frames: parent '{parent}', child '{child}'")
        t, q = msg.transform.translation, msg.transform.rotation
        rotation = Rotation.from_quat([q.x, q.y, q.z, q.w])
        matrix = make_transform(rotation.as_matrix(), [t.x, t.y, t.z])
        with self._lock:
            history = self._frames.get(child)
            if history is None or history.parent != parent or history.static != static:
                history = self._frames[child] = EdgeHistory(parent, static)
            history.insert(stamp_to_seconds(msg.header.stamp), matrix, rotation)
            if not static:
                history.forget_older_than(self.cache_time)

    def _path_to_root(self, frame: str) -> list[str]:
        parents = {child: history.parent for child, history in self._frames.items()}
        path = path_to_root(parents, frame, MAX_TREE_DEPTH)
        if len(path) > MAX_TREE_DEPTH:
            raise TransformError(f"TF tree has a loop above frame '{frame}'")
        return path

    def _edge(self, child: str, time: float | None) -> np.ndarray:
        """T_parent_from_child at `time` (None = newest); no extrapolation."""
        history = self._frames[child]
        if time is None:
            return history.matrices[-1]
        matrix = history.at(time, 0.0)
        if matrix is None:
            raise TransformError(
                f"transform {history.parent} -> {child} at t={time:.6f} would need extrapolation: "
                f"cache holds [{history.stamps[0]:.6f}, {history.stamps[-1]:.6f}]"
            )
        return matrix

    def _to_ancestor(self, path: list[str], ancestor: str, time: float | None) -> np.ndarray:
        """T_ancestor_from_path[0] composed link by link (a missing link is reported from
        the source up)."""
        edges = {child: self._edge(child, time) for child in path[: path.index(ancestor)]}
        return compose_to_ancestor(path, ancestor, edges.__getitem__)

    def lookup(self, target: str, source: str, time: float | None = None) -> np.ndarray:
        """T_target_from_source at `time` (None = newest data on every link)."""
        target, source = target.lstrip("/"), source.lstrip("/")
        if target == source:
            return np.eye(4)
        with self._lock:
            source_path, target_path = self._path_to_root(source), self._path_to_root(target)
            common = common_frame(source_path, target_path)
            if common is None:
                known = sorted(set(self._frames) | {h.parent for h in self._frames.values()})
                raise TransformError(
                    f"no transform from '{source}' to '{target}': frames not connected (known frames: {known})"
                )
            source_to_common = self._to_ancestor(source_path, common, time)
            target_to_common = self._to_ancestor(target_path, common, time)
        return invert_transform(target_to_common) @ source_to_common


class TfListener:
    """Feeds a TfBuffer from /tf and /tf_static (tf2_msgs/TFMessage)."""

    def __init__(self, node: Node, buffer: TfBuffer, on_bad_message=None) -> None:
        from tf2_msgs.msg import TFMessage

        self.buffer = buffer
        self._on_bad_message = on_bad_message
        node.create_subscription(TFMessage, "/tf", lambda m: self._receive(m, False), TF_QOS)
        node.create_subscription(
            TFMessage, "/tf_static", lambda m: self._receive(m, True), TF_STATIC_QOS
        )

    def _receive(self, msg, static: bool) -> None:
        for transform in msg.transforms:
            try:
                self.buffer.set_transform(transform, static)
            except (TransformError, ValueError) as error:
                if self._on_bad_message is not None:
                    self._on_bad_message(f"TF message: {error}")


class Tf2RosTransforms:
    """tf2_ros.Buffer/TransformListener behind the TfBuffer lookup methods (real ROS installs)."""

    name = "tf2_ros"

    def __init__(self, node: Node, cache_time: float) -> None:
        from rclpy.duration import Duration

        # With the node, the buffer follows the node's clock and clears itself when that
        # clock jumps back (a looping bag under use_sim_time), as tf2_ros does in C++.
        self._buffer = tf2_ros.Buffer(cache_time=Duration(seconds=cache_time), node=node)
        self._listener = tf2_ros.TransformListener(self._buffer, node, spin_thread=False)

    def clear(self) -> None:
        self._buffer.clear()

    def links(self) -> dict[str, tuple[str, tuple[float, float] | None]]:
        """child -> (parent, (oldest, newest) or None when static), from tf2's frame table."""
        return tf2_links(self._buffer.all_frames_as_yaml())

    @staticmethod
    def _time(seconds: float | None):
        from rclpy.time import Time

        return Time() if seconds is None else Time(nanoseconds=int(round(seconds * 1e9)))

    def lookup(self, target: str, source: str, time: float | None = None) -> np.ndarray:
        try:
            msg = self._buffer.lookup_transform(target, source, self._time(time))
        except tf2_ros.TransformException as error:
            raise TransformError(str(error)) from error
        return transform_msg_to_matrix(msg.transform)

    def lookup_full(
        self,
        target: str,
        target_time: float | None,
        source: str,
        source_time: float | None,
        fixed: str,
    ) -> np.ndarray:
        try:
            msg = self._buffer.lookup_transform_full(
                target, self._time(target_time), source, self._time(source_time), fixed
            )
        except tf2_ros.TransformException as error:
            raise TransformError(str(error)) from error
        return transform_msg_to_matrix(msg.transform)


def clear_on_time_jump(node: Node, buffer: TfBuffer) -> JumpHandle:
    """Clear `buffer` when the node's clock jumps back by more than 1 s or switches source
    (what tf2_ros.Buffer does with a node); keep the returned handle alive."""
    from rclpy.clock import JumpThreshold
    from rclpy.duration import Duration

    threshold = JumpThreshold(
        min_forward=None, min_backward=Duration(seconds=-1), on_clock_change=True
    )
    return node.get_clock().create_jump_callback(
        threshold, post_callback=lambda _jump: buffer.clear()
    )


def tf2_links(frames_yaml: str) -> dict[str, tuple[str, tuple[float, float] | None]]:
    """`links` for chain_bounds from tf2's all_frames_as_yaml (static frames report 0)."""
    table = yaml.safe_load(frames_yaml) or {}
    links = {}
    for child, facts in table.items() if isinstance(table, dict) else ():
        oldest = float(facts.get("oldest_transform", 0.0))
        newest = float(facts.get("most_recent_transform", 0.0))
        span = None if newest == 0.0 else (oldest + YAML_ROUNDING, newest - YAML_ROUNDING)
        links[str(child)] = (str(facts.get("parent", "")), span)
    return links
