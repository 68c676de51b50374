"""Read any ROS 2 bag (MCAP or sqlite3) without ROS: cameras, clouds, TF and keyframes.

`BagData(path)` opens the bag once to list its topics; each read opens it again and
streams only the topics asked for, so a long bag of full-size images never sits in
memory. Messages are decoded with the rosbags typestore (the standard ROS 2 types);
stamps are header stamps in nanoseconds (the bag's log time is kept beside them, see
`Stamped`). Every problem is one line naming the bag (and topic): MissingPathError for a
path that is no bag, MissingTopicError for a topic, frame or transform it lacks,
BagDataError for content that cannot be decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml
from rosbags.rosbag2 import Reader
from rosbags.rosbag2.errors import ReaderError

from lircdepth.bagdata import messages as m
from lircdepth.bagdata.checks import check_bag
from lircdepth.bagdata.errors import BagDataError, MissingTopicError
from lircdepth.bagdata.images import image_rgb
from lircdepth.bagdata.keyframes import Keyframe, Stamped, find_keyframes, keyframes_from_table
from lircdepth.bagdata.pointcloud import cloud_fields, cloud_xyz
from lircdepth.bagdata.sensors import BagSensors, CameraTopics, find_sensors
from lircdepth.bagdata.tf import DEFAULT_EXTRAPOLATION_NS, TransformTree, stamp_ns
from lircdepth.errors import MissingPathError

TF_TOPICS = ("/tf_static", "/tf")
TF_MESSAGE = "tf2_msgs/msg/TFMessage"


def bag_folder(path: str | Path) -> Path:
    """The bag folder of a path: the folder itself, or the folder of a .mcap/.db3 file in it."""
    path = Path(path)
    if path.is_file() and (path.parent / "metadata.yaml").is_file():
        return path.parent
    if not path.exists():
        raise MissingPathError(f"bag {path} does not exist")
    if not (path / "metadata.yaml").is_file():
        raise MissingPathError(
            f"{path} is not a ROS 2 bag folder (no metadata.yaml)",
            hint="pass the folder `ros2 bag record` wrote (with metadata.yaml beside the .mcap or .db3)",
        )
    return path


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """An open rosbags Reader; one-line errors for a path that is no readable bag."""
    folder = bag_folder(path)
    check_bag(folder)
    try:
        reader = Reader(folder)
        reader.open()
    except (ReaderError, OSError, KeyError, ValueError) as error:
        raise BagDataError(f"cannot open bag {folder}: {str(error).splitlines()[0]}") from error
    try:
        yield reader
    finally:
        reader.close()


def bag_custom_data(path: str | Path) -> dict[str, str]:
    """The custom_data of a bag's metadata.yaml (the rosbags Reader does not expose it)."""
    folder = bag_folder(path)
    try:
        info = yaml.safe_load((folder / "metadata.yaml").read_text()) or {}
    except yaml.YAMLError as error:
        raise BagDataError(
            f"bag {folder}: metadata.yaml is not YAML ({error.__class__.__name__})"
        ) from error
    return (info.get("rosbag2_bagfile_information") or {}).get("custom_data") or {}


@dataclass(frozen=True)
class CameraModel:
    """A camera's calibration from one CameraInfo (K of an undistorted pinhole image)."""

    camera_matrix: np.ndarray
    width: int
    height: int
    frame_id: str


@dataclass
class CameraFrame:
    camera: str
    stamp: int
    log_time: int
    frame_id: str
    rgb: np.ndarray


@dataclass
class Cloud:
    """One PointCloud2 of a bag; `fields` / `xyz` decode it by field offset."""

    name: str
    stamp: int
    log_time: int
    frame_id: str
    message: object

    def fields(self, names: Sequence[str] | None = None, dtype=np.float32) -> dict[str, np.ndarray]:
        return cloud_fields(self.message, names, f"{self.name} at {self.stamp} ns", dtype)

    def xyz(self) -> np.ndarray:
        return cloud_xyz(self.message, f"{self.name} at {self.stamp} ns")


def camera_model(info) -> CameraModel:
    return CameraModel(
        np.asarray(info.k, dtype=np.float64).reshape(3, 3),
        int(info.width),
        int(info.height),
        info.header.frame_id,
    )


class BagData:
    """What a bag records, for tools that need no ROS: see the module docstring.

    max_extrapolation_ns: how far beyond its first/last recorded stamp a /tf transform is
    extrapolated (see `lircdepth.bagdata.tf`).
    """

    def __init__(self, path: str | Path, max_extrapolation_ns: int = DEFAULT_EXTRAPOLATION_NS):
        self.path = bag_folder(path)
        self.max_extrapolation_ns = max_extrapolation_ns
        with open_bag(self.path) as reader:
            self.topics: dict[str, str] = {c.topic: c.msgtype for c in reader.connections}
            self.message_counts = {c.topic: c.msgcount for c in reader.connections}
        self.custom_data = bag_custom_data(self.path)
        self.sensors: BagSensors = find_sensors(self.topics)
        self._stamps: dict[str, list[Stamped]] = {}

    def __repr__(self) -> str:
        return f"BagData({str(self.path)!r})"

    # --- topics -----------------------------------------------------------------------
    def require(self, topic: str, what: str = "topic") -> str:
        """The message type of a topic; MissingTopicError (one line) when the bag lacks it."""
        if topic not in self.topics:
            raise MissingTopicError(
                f"bag {self.path} has no {what} {topic} (topics: {', '.join(sorted(self.topics))})"
            )
        return self.topics[topic]

    def camera(self, name: str) -> CameraTopics:
        if name not in self.sensors.cameras:
            raise MissingTopicError(
                f"bag {self.path} records no camera {name} "
                f"(cameras: {', '.join(self.sensors.cameras) or 'none'})"
            )
        return self.sensors.cameras[name]

    def cloud_topic(self, name: str) -> str:
        """The PointCloud2 topic of a radar/lidar name (`RADAR_FRONT`) or a topic itself."""
        clouds = self.sensors.clouds()
        if name in clouds:
            return clouds[name]
        if self.topics.get(name) == m.POINT_CLOUD:
            return name
        raise MissingTopicError(
            f"bag {self.path} records no point cloud {name} (clouds: {', '.join(clouds) or 'none'})"
        )

    def messages(self, topics: Iterable[str], start: int | None = None, stop: int | None = None):
        """(topic, log time ns, decoded message) of these topics in bag order."""
        wanted = set(topics)
        for topic in wanted:
            self.require(topic)
        with open_bag(self.path) as reader:
            connections = [c for c in reader.connections if c.topic in wanted]
            for connection, log_time, raw in reader.messages(connections, start, stop):
                yield connection.topic, log_time, self._decode(raw, connection)

    def _decode(self, raw: bytes, connection):
        try:
            return m.deserialize(raw, connection.msgtype)
        except Exception as error:  # rosbags raises several types for corrupt or unknown data
            raise BagDataError(
                f"bag {self.path}: cannot decode a {connection.msgtype} on {connection.topic} "
                f"({error.__class__.__name__}: {str(error).splitlines()[0] if str(error) else ''})"
            ) from error

    def stamps(self, topic: str) -> list[Stamped]:
        """Header stamp and log time of every message of a stamped topic, in bag order."""
        if topic not in self._stamps:
            self._stamps[topic] = [
                Stamped(stamp_ns(msg.header.stamp), log) for _, log, msg in self.messages([topic])
            ]
        return self._stamps[topic]

    # --- cameras ----------------------------------------------------------------------
    def camera_infos(self, camera: str) -> dict[int, CameraModel]:
        """Header stamp (ns) -> calibration of every CameraInfo of a camera."""
        topics = self.camera(camera)
        if topics.info_topic is None:
            raise MissingTopicError(
                f"bag {self.path} has no CameraInfo for camera {camera} "
                f"(expected {topics.image_topic.rsplit('/', 1)[0] or ''}/camera_info beside {topics.image_topic})"
            )
        return {
            stamp_ns(msg.header.stamp): camera_model(msg)
            for _, _, msg in self.messages([topics.info_topic])
        }

    def image_stamps(self, camera: str) -> list[Stamped]:
        return self.stamps(self.camera(camera).image_topic)

    def images(self, camera: str, stamps: Iterable[int] | None = None) -> Iterator[CameraFrame]:
        """Decoded RGB frames of a camera (raw or jpeg/png compressed), optionally only
        those with these header stamps."""
        topics = self.camera(camera)
        wanted = None if stamps is None else set(stamps)
        for _, log_time, msg in self.messages([topics.image_topic]):
            stamp = stamp_ns(msg.header.stamp)
            if wanted is None or stamp in wanted:
                rgb = image_rgb(
                    msg, topics.msgtype, f"bag {self.path} {topics.image_topic} at {stamp} ns"
                )
                yield CameraFrame(camera, stamp, log_time, msg.header.frame_id, rgb)

    # --- point clouds -----------------------------------------------------------------
    def cloud_stamps(self, name: str) -> list[Stamped]:
        return self.stamps(self.cloud_topic(name))

    def clouds(self, name: str, stamps: Iterable[int] | None = None) -> Iterator[Cloud]:
        """The PointCloud2 messages of a radar or lidar, optionally only these header stamps."""
        topic = self.cloud_topic(name)
        wanted = None if stamps is None else set(stamps)
        for _, log_time, msg in self.messages([topic]):
            stamp = stamp_ns(msg.header.stamp)
            if wanted is None or stamp in wanted:
                yield Cloud(name, stamp, log_time, msg.header.frame_id, msg)

    # --- transforms -------------------------------------------------------------------
    @cached_property
    def transforms(self) -> TransformTree:
        """The tree of every /tf_static and /tf transform of the bag (read once)."""
        present = [t for t in TF_TOPICS if self.topics.get(t) == TF_MESSAGE]
        tree = TransformTree(
            f"bag {self.path}" + ("" if present else " (no /tf or /tf_static)"),
            self.max_extrapolation_ns,
        )
        for topic, _, msg in self.messages(present):
            tree.add_message(msg, static=topic == "/tf_static")
        return tree

    def map_from_sensor(self, frame: str, stamp: int, fixed: str = m.MAP_FRAME) -> np.ndarray:
        """T_fixed_from_frame at a stamp (ns), through the bag's TF."""
        return self.transforms.to_ancestor(fixed, frame, stamp)

    # --- keyframes --------------------------------------------------------------------
    def keyframes(
        self, cameras: Sequence[str] | None = None, lidar: str | None = None
    ) -> list[Keyframe]:
        """The converter's keyframe table when the bag has one, else keyframes found from
        the lidar and camera stamps (see `lircdepth.bagdata.keyframes`)."""
        lidar = lidar or self.default_lidar()
        table = keyframes_from_table(self.custom_data, lidar)
        if table is not None:
            return table
        cameras = list(self.sensors.cameras) if cameras is None else list(cameras)
        return find_keyframes(
            lidar, self.cloud_stamps(lidar), {c: self.image_stamps(c) for c in cameras}
        )

    def default_lidar(self) -> str:
        """The bag's lidar (LIDAR_TOP when there are several)."""
        lidars = self.sensors.lidars
        if not lidars:
            raise MissingTopicError(
                f"bag {self.path} records no lidar PointCloud2 (a topic with 'lidar' in its name)"
            )
        return "LIDAR_TOP" if "LIDAR_TOP" in lidars else sorted(lidars)[0]


__all__ = [
    "BagData",
    "CameraFrame",
    "CameraModel",
    "Cloud",
    "bag_custom_data",
    "bag_folder",
    "open_bag",
]
