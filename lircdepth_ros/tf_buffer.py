"""A TF buffer: static + dynamic transforms, chains through the tree, interpolation in time.

Why our own: tf2_ros is not on PyPI. Where it is importable (a real ROS install),
`make_transform_source` wraps tf2_ros.Buffer/TransformListener instead, behind the same
two lookup methods. Transforms returned are 4x4 `T_target_from_source` matrices.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

import numpy as np
from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from scipy.spatial.transform import Rotation, Slerp

from lircdepth.geometry import invert_transform

try:
    import tf2_ros
except ImportError:
    tf2_ros = None

MAX_TREE_DEPTH = 100
TF_QOS = QoSProfile(
    depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
TF_STATIC_QOS = QoSProfile(
    depth=100,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
    history=HistoryPolicy.KEEP_LAST,
)


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


@dataclass
class _FrameHistory:
    """Transforms from one child frame to its parent, sorted by time."""

    parent: str
    static: bool
    stamps: list[float] = field(default_factory=list)
    translations: list[np.ndarray] = field(default_factory=list)
    rotations: list[Rotation] = field(default_factory=list)

    def insert(
        self, stamp: float, translation: np.ndarray, rotation: Rotation, cache_time: float
    ) -> None:
        if self.static:
            self.stamps, self.translations, self.rotations = [stamp], [translation], [rotation]
            return
        index = bisect.bisect_left(self.stamps, stamp)
        if index < len(self.stamps) and self.stamps[index] == stamp:
            self.translations[index], self.rotations[index] = translation, rotation
        else:
            self.stamps.insert(index, stamp)
            self.translations.insert(index, translation)
            self.rotations.insert(index, rotation)
        keep_from = bisect.bisect_left(self.stamps, self.stamps[-1] - cache_time)
        del self.stamps[:keep_from], self.translations[:keep_from], self.rotations[:keep_from]

    def at(self, time: float | None, child: str) -> np.ndarray:
        """T_parent_from_child at `time` (None = newest), interpolated between samples."""
        matrix = np.eye(4)
        if self.static or time is None or time == self.stamps[-1]:
            matrix[:3, :3] = self.rotations[-1].as_matrix()
            matrix[:3, 3] = self.translations[-1]
            return matrix
        if not self.stamps[0] <= time <= self.stamps[-1]:
            raise TransformError(
                f"transform {self.parent} -> {child} at t={time:.6f} would need extrapolation: "
                f"cache holds [{self.stamps[0]:.6f}, {self.stamps[-1]:.6f}]"
            )
        upper = bisect.bisect_left(self.stamps, time)
        if self.stamps[upper] == time:
            lower = upper
            fraction = 0.0
        else:
            lower = upper - 1
            fraction = (time - self.stamps[lower]) / (self.stamps[upper] - self.stamps[lower])
        pair = Rotation.concatenate([self.rotations[lower], self.rotations[upper]])
        matrix[:3, :3] = Slerp([0.0, 1.0], pair)(fraction).as_matrix()
        matrix[:3, 3] = (1 - fraction) * self.translations[lower] + fraction * self.translations[
            upper
        ]
        return matrix


class TfBuffer:
    """Thread-safe store of the transform tree; `cache_time` seconds of dynamic history."""

    def __init__(self, cache_time: float = 10.0) -> None:
        self.cache_time = cache_time
        self._frames: dict[str, _FrameHistory] = {}
        self._lock = threading.Lock()

    def set_transform(self, msg: TransformStamped, static: bool = False) -> None:
        """Add one geometry_msgs/TransformStamped (parent = header.frame_id)."""
        parent, child = msg.header.frame_id.lstrip("/"), msg.child_frame_id.lstrip("/")
        if not parent or not child or parent == child:
            raise TransformError(f"invalid transform frames: parent '{parent}', child '{child}'")
        t, q = msg.transform.translation, msg.transform.rotation
        rotation = Rotation.from_quat([q.x, q.y, q.z, q.w])
        with self._lock:
            history = self._frames.get(child)
            if history is None or history.parent != parent or history.static != static:
                history = self._frames[child] = _FrameHistory(parent, static)
            history.insert(
                stamp_to_seconds(msg.header.stamp),
                np.array([t.x, t.y, t.z]),
                rotation,
                self.cache_time,
            )

    def _path_to_root(self, frame: str) -> list[str]:
        path = [frame]
        while path[-1] in self._frames:
            path.append(self._frames[path[-1]].parent)
            if len(path) > MAX_TREE_DEPTH:
                raise TransformError(f"TF tree has a loop above frame '{frame}'")
        return path

    def _to_ancestor(self, path: list[str], ancestor: str, time: float | None) -> np.ndarray:
        """T_ancestor_from_path[0] composed link by link."""
        matrix = np.eye(4)
        for child in path[: path.index(ancestor)]:
            matrix = self._frames[child].at(time, child) @ matrix
        return matrix

    def lookup(self, target: str, source: str, time: float | None = None) -> np.ndarray:
        """T_target_from_source at `time` (None = newest data on every link)."""
        target, source = target.lstrip("/"), source.lstrip("/")
        if target == source:
            return np.eye(4)
        with self._lock:
            source_path, target_path = self._path_to_root(source), self._path_to_root(target)
            common = next((frame for frame in source_path if frame in target_path), None)
            if common is None:
                known = sorted(set(self._frames) | {h.parent for h in self._frames.values()})
                raise TransformError(
                    f"no transform from '{source}' to '{target}': frames not connected (known frames: {known})"
                )
            source_to_common = self._to_ancestor(source_path, common, time)
            target_to_common = self._to_ancestor(target_path, common, time)
        return invert_transform(target_to_common) @ source_to_common

    def lookup_full(
        self,
        target: str,
        target_time: float | None,
        source: str,
        source_time: float | None,
        fixed: str,
    ) -> np.ndarray:
        """T_target(target_time)_from_source(source_time), travelling through `fixed` frame."""
        return self.lookup(target, fixed, target_time) @ self.lookup(fixed, source, source_time)


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

    def __init__(self, node: Node, cache_time: float) -> None:
        from rclpy.duration import Duration

        self._buffer = tf2_ros.Buffer(cache_time=Duration(seconds=cache_time))
        self._listener = tf2_ros.TransformListener(self._buffer, node, spin_thread=False)

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


def make_transform_source(node: Node, cache_time: float, on_bad_message=None):
    """tf2_ros when importable, else our TfBuffer fed by a TfListener."""
    if tf2_ros is not None:
        return Tf2RosTransforms(node, cache_time)
    buffer = TfBuffer(cache_time)
    TfListener(node, buffer, on_bad_message)
    return buffer
