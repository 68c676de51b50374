"""Lidar ground truth for a bag's camera frames, built from the bag alone.

Everything comes from the recorded topics: intrinsics from CameraInfo, the camera and
lidar mounts from `/tf_static`, and the ego poses from `/tf`. The lidar sweep is moved
into the camera with ego-motion compensation (lidar -> base_link at the lidar stamp ->
map -> base_link at the camera stamp -> camera), the chain offline preparation uses.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from rosbags.rosbag2 import Reader

from lircdepth.errors import MissingPathError
from lircdepth.geometry import invert_transform, transform_points
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.convert import (
    KEYFRAMES_KEY,
    LIDAR_CHANNEL,
    camera_info_topic,
    point_cloud_topic,
)
from lircdepth_ros.bag.lidar_projection import lidar_depth_map

FRAME_SELECTIONS = ("keyframes", "all")
POSE_TOLERANCE_NS = 1_000_000  # an ego pose within 1 ms of a stamp counts as taken at it


@dataclass(frozen=True)
class CameraModel:
    camera_matrix: np.ndarray
    width: int
    height: int
    frame_id: str


def open_bag(bag: str | Path) -> Reader:
    bag = Path(bag)
    if not (bag / "metadata.yaml").is_file():
        raise MissingPathError(f"{bag} is not a ROS 2 bag directory (no metadata.yaml)")
    return Reader(bag)


def bag_custom_data(bag: Path) -> dict[str, str]:
    """The custom_data of a bag's metadata.yaml (the rosbags Reader does not expose it)."""
    info = yaml.safe_load((bag / "metadata.yaml").read_text()).get(
        "rosbag2_bagfile_information", {}
    )
    return info.get("custom_data") or {}


def _connections(reader: Reader, topic: str) -> list:
    found = [c for c in reader.connections if c.topic == topic]
    if not found:
        topics = ", ".join(sorted({c.topic for c in reader.connections}))
        raise KeyError(f"bag {reader.path} has no topic {topic} (topics: {topics})")
    return found


class BagGroundTruth:
    """Single-sweep lidar depth maps for the camera frames a bag records.

    `targets` maps each scored camera stamp (ns) to the stamp (ns) of the lidar sweep
    that is its ground truth: with frames="keyframes" the nuScenes keyframe pairs the
    converter stored in metadata.yaml, with frames="all" every camera frame and the
    nearest lidar sweep in time.
    """

    def __init__(
        self,
        bag: str | Path,
        camera: str = "CAM_FRONT",
        lidar: str = LIDAR_CHANNEL,
        frames: str = "keyframes",
    ):
        if frames not in FRAME_SELECTIONS:
            raise ValueError(f"frames must be one of {FRAME_SELECTIONS}, got {frames!r}")
        self.bag = Path(bag)
        self.static: dict[str, np.ndarray] = {}
        self.poses: dict[int, np.ndarray] = {}
        self.cameras: dict[int, CameraModel] = {}
        lidar_stamps: list[int] = []
        with open_bag(self.bag) as reader:
            wanted = {"/tf_static", "/tf", camera_info_topic(camera), point_cloud_topic(lidar)}
            for topic in wanted:
                _connections(reader, topic)
            keyframes = self._keyframe_pairs(camera, lidar) if frames == "keyframes" else None
            connections = [
                c for c in reader.connections if c.topic in wanted - {point_cloud_topic(lidar)}
            ]
            for connection, timestamp, raw in reader.messages(connections=connections):
                self._read_pose_or_camera(connection, timestamp, raw)
            lidar_connections = _connections(reader, point_cloud_topic(lidar))
            lidar_stamps = sorted(t for _, t, _ in reader.messages(connections=lidar_connections))
            self.targets = keyframes if keyframes is not None else self._nearest_pairs(lidar_stamps)
            needed = set(self.targets.values())
            self.lidar_points: dict[int, np.ndarray] = {}
            for connection, timestamp, raw in reader.messages(connections=lidar_connections):
                if timestamp in needed:
                    fields = m.point_cloud_fields(m.deserialize(raw, connection.msgtype))
                    self.lidar_points[timestamp] = np.stack(
                        [fields["x"], fields["y"], fields["z"]], axis=1
                    )
        self.camera_frame, self.lidar_frame = camera, lidar
        missing = sorted(needed - set(self.lidar_points))
        if missing:
            raise ValueError(f"bag {self.bag} lacks the lidar sweeps stamped {missing[:5]} (ns)")

    def _keyframe_pairs(self, camera: str, lidar: str) -> dict[int, int] | None:
        custom = bag_custom_data(self.bag)
        if KEYFRAMES_KEY not in custom:
            warnings.warn(
                f"bag {self.bag} records no nuScenes keyframes ({KEYFRAMES_KEY}); scoring every camera frame",
                stacklevel=3,
            )
            return None
        pairs = {}
        for sample in json.loads(custom[KEYFRAMES_KEY]):
            stamps = sample["stamps"]
            if camera not in stamps or lidar not in stamps:
                raise KeyError(
                    f"bag {self.bag} keyframes do not cover channels {camera} and {lidar}"
                )
            pairs[stamps[camera] * 1000] = stamps[lidar] * 1000
        return pairs

    def _read_pose_or_camera(self, connection, timestamp: int, raw: bytes) -> None:
        message = m.deserialize(raw, connection.msgtype)
        if connection.msgtype == m.CAMERA_INFO:
            k = np.asarray(message.k, dtype=np.float64).reshape(3, 3)
            stamp = m.stamp_to_nanoseconds(message.header.stamp)
            self.cameras[stamp] = CameraModel(
                k, int(message.width), int(message.height), message.header.frame_id
            )
            return
        for transform in message.transforms:
            matrix = m.transform_matrix(transform)
            if connection.topic == "/tf_static":
                self._check_parent(transform, m.BASE_FRAME)
                self.static[transform.child_frame_id] = matrix
            elif transform.child_frame_id == m.BASE_FRAME:
                self._check_parent(transform, m.MAP_FRAME)
                self.poses[m.stamp_to_nanoseconds(transform.header.stamp)] = matrix

    def _check_parent(self, transform, parent: str) -> None:
        if transform.header.frame_id != parent:
            raise ValueError(
                f"bag {self.bag}: transform to {transform.child_frame_id!r} has parent "
                f"{transform.header.frame_id!r}, expected {parent!r}"
            )

    def _nearest_pairs(self, lidar_stamps: list[int]) -> dict[int, int]:
        if not lidar_stamps:
            raise ValueError(f"bag {self.bag} has no lidar sweeps")
        lidar = np.asarray(lidar_stamps)
        pairs = {}
        for stamp in sorted(self.cameras):
            index = int(np.argmin(np.abs(lidar - stamp)))
            pairs[stamp] = int(lidar[index])
        return pairs

    def pose(self, stamp_ns: int) -> np.ndarray:
        """T_map_from_base_link at a stamp (the recorded ego pose within 1 ms of it)."""
        if stamp_ns in self.poses:
            return self.poses[stamp_ns]
        stamps = np.fromiter(self.poses, dtype=np.int64)
        nearest = int(stamps[np.argmin(np.abs(stamps - stamp_ns))]) if stamps.size else None
        if nearest is None or abs(nearest - stamp_ns) > POSE_TOLERANCE_NS:
            raise KeyError(
                f"bag {self.bag} has no ego pose (/tf map -> base_link) at {stamp_ns} ns"
            )
        return self.poses[nearest]

    def mount(self, frame: str) -> np.ndarray:
        """T_base_link_from_<frame> from /tf_static."""
        if frame not in self.static:
            raise KeyError(f"bag {self.bag} /tf_static has no transform base_link -> {frame}")
        return self.static[frame]

    def map_from_sensor(self, frame: str, stamp_ns: int) -> np.ndarray:
        """T_map_from_<frame> at a stamp: ego pose then mount, composed as prepare does."""
        return self.pose(stamp_ns) @ self.mount(frame)

    def camera(self, camera_stamp: int) -> CameraModel:
        if camera_stamp not in self.cameras:
            raise KeyError(
                f"bag {self.bag} has no camera_info for {self.camera_frame} at {camera_stamp} ns"
            )
        return self.cameras[camera_stamp]

    def depth_map(self, camera_stamp: int) -> np.ndarray:
        """H x W float32 single-sweep lidar depth (metres, 0 = none) for a scored camera frame.

        The sweep goes to the map frame at its own stamp and into the camera at the camera
        stamp, so the ego motion between the two is compensated.
        """
        lidar_stamp = self.targets[camera_stamp]
        model = self.camera(camera_stamp)
        points_map = transform_points(
            self.map_from_sensor(self.lidar_frame, lidar_stamp), self.lidar_points[lidar_stamp]
        )
        T_camera_from_map = invert_transform(self.map_from_sensor(self.camera_frame, camera_stamp))
        return lidar_depth_map(
            points_map, T_camera_from_map, model.camera_matrix, model.height, model.width
        )
