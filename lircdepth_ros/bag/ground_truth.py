"""Lidar ground truth for a bag's camera frames, built from the bag alone.

Everything comes from the recorded topics: intrinsics from CameraInfo, the camera and
lidar mounts from `/tf_static`, and the ego poses from `/tf`. The lidar sweep is moved
into the camera with ego-motion compensation (lidar -> base_link at the lidar stamp ->
map -> base_link at the camera stamp -> camera), the chain offline preparation uses.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from rosbags.rosbag2 import Reader

from lircdepth.errors import MissingPathError
from lircdepth.geometry import invert_transform, transform_points
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.convert import (
    CAMERAS_KEY,
    KEYFRAMES_KEY,
    LIDAR_CHANNEL,
    camera_info_topic,
    point_cloud_topic,
)
from lircdepth_ros.bag.lidar_projection import lidar_depth_map
from lircdepth_ros.bag.topics import camera_of_image_topic

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


class BagRecording:
    """What scoring needs from a bag, read in one pass for any number of cameras: the mounts
    (/tf_static), the ego poses (/tf), every CameraInfo of the cameras, the lidar stamps and
    the keyframe table. Lidar sweeps are read on demand (`load_lidar`) and kept."""

    def __init__(self, bag: str | Path, cameras: Sequence[str], lidar: str = LIDAR_CHANNEL):
        self.bag = Path(bag)
        self.lidar_frame = lidar
        self.static: dict[str, np.ndarray] = {}
        self.poses: dict[int, np.ndarray] = {}
        self.cameras: dict[str, dict[int, CameraModel]] = {c: {} for c in cameras}
        self.lidar_points: dict[int, np.ndarray] = {}
        self.keyframes = keyframe_table(self.bag)
        info_topics = {camera_info_topic(c): c for c in cameras}
        with open_bag(self.bag) as reader:
            self.topics = {c.topic: c.msgtype for c in reader.connections}
            for topic in ("/tf_static", "/tf", *info_topics, point_cloud_topic(lidar)):
                _connections(reader, topic)
            connections = [
                c for c in reader.connections if c.topic in {"/tf_static", "/tf", *info_topics}
            ]
            for connection, _, raw in reader.messages(connections=connections):
                message = m.deserialize(raw, connection.msgtype)
                if connection.msgtype == m.CAMERA_INFO:
                    self._read_camera(info_topics[connection.topic], message)
                else:
                    self._read_transforms(connection.topic, message)
            lidar_connections = _connections(reader, point_cloud_topic(lidar))
            self.lidar_stamps = sorted(
                t for _, t, _ in reader.messages(connections=lidar_connections)
            )

    def _read_camera(self, camera: str, message) -> None:
        k = np.asarray(message.k, dtype=np.float64).reshape(3, 3)
        stamp = m.stamp_to_nanoseconds(message.header.stamp)
        self.cameras[camera][stamp] = CameraModel(
            k, int(message.width), int(message.height), message.header.frame_id
        )

    def _read_transforms(self, topic: str, message) -> None:
        for transform in message.transforms:
            matrix = m.transform_matrix(transform)
            if topic == "/tf_static":
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

    def read_points(self, channel: str, stamps: set[int]) -> dict[int, np.ndarray]:
        """N x 3 points (x, y, z in the sensor frame) of a point-cloud channel's messages
        recorded at these stamps (ns)."""
        points = {}
        with open_bag(self.bag) as reader:
            connections = _connections(reader, point_cloud_topic(channel))
            for connection, timestamp, raw in reader.messages(connections=connections):
                if timestamp in stamps:
                    fields = m.point_cloud_fields(m.deserialize(raw, connection.msgtype))
                    points[timestamp] = np.stack([fields["x"], fields["y"], fields["z"]], axis=1)
        return points

    def load_lidar(self, stamps: set[int]) -> None:
        """Read the lidar sweeps at these stamps (ns) that are not loaded yet."""
        wanted = set(stamps) - set(self.lidar_points)
        if wanted:
            self.lidar_points.update(self.read_points(self.lidar_frame, wanted))
        missing = sorted(wanted - set(self.lidar_points))
        if missing:
            raise ValueError(f"bag {self.bag} lacks the lidar sweeps stamped {missing[:5]} (ns)")

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


def bag_cameras(bag: str | Path) -> list[str]:
    """The cameras a bag records: the converter's list (`lircdepth.cameras`), else the
    cameras of its image topics."""
    bag = Path(bag)
    custom = bag_custom_data(bag) if (bag / "metadata.yaml").is_file() else {}
    if CAMERAS_KEY in custom:
        return list(json.loads(custom[CAMERAS_KEY]))
    with open_bag(bag) as reader:
        return sorted(
            {camera_of_image_topic(c.topic) for c in reader.connections if c.msgtype == m.IMAGE}
        )


def keyframe_table(bag: Path) -> list[dict] | None:
    """The converter's keyframe table (per sample: channel -> stamp in µs), or None."""
    custom = bag_custom_data(bag)
    return json.loads(custom[KEYFRAMES_KEY]) if KEYFRAMES_KEY in custom else None


class BagGroundTruth:
    """Single-sweep lidar depth maps for the frames of one camera a bag records.

    `targets` maps each scored camera stamp (ns) to the stamp (ns) of the lidar sweep
    that is its ground truth: with frames="keyframes" the nuScenes keyframe pairs the
    converter stored in metadata.yaml, with frames="all" every camera frame and the
    nearest lidar sweep in time. Several cameras share one `BagRecording`.
    """

    def __init__(
        self,
        bag: str | Path,
        camera: str = "CAM_FRONT",
        lidar: str = LIDAR_CHANNEL,
        frames: str = "keyframes",
        recording: BagRecording | None = None,
    ):
        if frames not in FRAME_SELECTIONS:
            raise ValueError(f"frames must be one of {FRAME_SELECTIONS}, got {frames!r}")
        self.recording = recording or BagRecording(bag, [camera], lidar)
        if camera not in self.recording.cameras:
            raise KeyError(f"the recording of {bag} was read without camera {camera}")
        self.bag = self.recording.bag
        self.camera_frame, self.lidar_frame = camera, lidar
        keyframes = self._keyframe_pairs(camera, lidar) if frames == "keyframes" else None
        self.targets = keyframes if keyframes is not None else self._nearest_pairs()
        self.recording.load_lidar(set(self.targets.values()))

    @property
    def lidar_points(self) -> dict[int, np.ndarray]:
        return self.recording.lidar_points

    def _keyframe_pairs(self, camera: str, lidar: str) -> dict[int, int] | None:
        if self.recording.keyframes is None:
            warnings.warn(
                f"bag {self.bag} records no nuScenes keyframes ({KEYFRAMES_KEY}); scoring every camera frame",
                stacklevel=3,
            )
            return None
        pairs = {}
        for sample in self.recording.keyframes:
            stamps = sample["stamps"]
            if camera not in stamps or lidar not in stamps:
                raise KeyError(
                    f"bag {self.bag} keyframes do not cover channels {camera} and {lidar}"
                )
            pairs[stamps[camera] * 1000] = stamps[lidar] * 1000
        return pairs

    def _nearest_pairs(self) -> dict[int, int]:
        if not self.recording.lidar_stamps:
            raise ValueError(f"bag {self.bag} has no lidar sweeps")
        lidar = np.asarray(self.recording.lidar_stamps)
        pairs = {}
        for stamp in sorted(self.recording.cameras[self.camera_frame]):
            index = int(np.argmin(np.abs(lidar - stamp)))
            pairs[stamp] = int(lidar[index])
        return pairs

    def pose(self, stamp_ns: int) -> np.ndarray:
        """T_map_from_base_link at a stamp (see `BagRecording.pose`)."""
        return self.recording.pose(stamp_ns)

    def mount(self, frame: str) -> np.ndarray:
        return self.recording.mount(frame)

    def map_from_sensor(self, frame: str, stamp_ns: int) -> np.ndarray:
        return self.recording.map_from_sensor(frame, stamp_ns)

    def camera(self, camera_stamp: int) -> CameraModel:
        models = self.recording.cameras[self.camera_frame]
        if camera_stamp not in models:
            raise KeyError(
                f"bag {self.bag} has no camera_info for {self.camera_frame} at {camera_stamp} ns"
            )
        return models[camera_stamp]

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
