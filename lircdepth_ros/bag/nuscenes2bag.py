"""nuScenes -> a ROS 2 bag in the community "nuscenes2bag" layout (`bag convert --layout
nuscenes2bag`), the layout most ROS 2 users' nuScenes bags have:

| topic | type | notes |
|---|---|---|
| `/CAM_<X>/image_rect_compressed` | sensor_msgs/CompressedImage | the original JPEG bytes |
| `/CAM_<X>/camera_info` | sensor_msgs/CameraInfo | K, R = I, P = [K|0], no distortion model |
| `/RADAR_<X>` | sensor_msgs/PointCloud2 | the 18 PCD fields packed as in the file (43 bytes) |
| `/LIDAR_TOP` | sensor_msgs/PointCloud2 | x y z intensity ring, float32 (20 bytes) |
| `/tf` | tf2_msgs/TFMessage | per keyframe: map -> base_link and base_link -> every sensor, at this keyframe and the next |
| `/diagnostics` | diagnostic_msgs/DiagnosticArray | a CAN bus status per keyframe (the node's own topic name) |
| `/markers/annotations` | visualization_msgs/MarkerArray | empty, per keyframe (a type ROS-less players lack) |

No `/tf_static`, no `/clock`, no keyframe table. Header stamps are the nuScenes
timestamps; keyframe images (and their CameraInfo) are logged at the lidar keyframe's time,
so their bag time differs from their header stamp (by up to +/-42 ms on nuScenes).
Radar sweeps carry every point of the file (no devkit state filter).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rosbags.interfaces import Connection
from rosbags.rosbag2 import Writer

from lircdepth.bagdata import messages as m
from lircdepth.errors import BadValueError
from lircdepth.predict.radar_files import PCD_TYPES
from lircdepth_ros.bag.scene_stream import StreamItem, scene_stream

LIDAR_CHANNEL = "LIDAR_TOP"
MARKERS_TOPIC = "/markers/annotations"
REORDER_WINDOW_US = 200_000  # keyframe images are logged at most this far from their stamp


def compressed_topic(camera: str) -> str:
    return f"/{camera}/image_rect_compressed"


def read_pcd_records(path: Path) -> np.ndarray:
    """The points of a binary PCD file as a packed structured array (fields as in the file)."""
    raw = Path(path).read_bytes()
    header, offset = {}, 0
    while True:
        end = raw.find(b"\n", offset)
        if end < 0:
            raise BadValueError(f"radar file {path} ends inside its PCD header")
        line = raw[offset:end].decode("ascii", "replace").strip()
        offset = end + 1
        if line and not line.startswith("#"):
            key, *values = line.split()
            header[key] = values
            if key == "DATA":
                break
    if header["DATA"] != ["binary"]:
        raise BadValueError(f"radar file {path} is PCD DATA {header['DATA']}, not binary")
    try:
        formats = [
            "<" + PCD_TYPES[t, int(s)] for t, s in zip(header["TYPE"], header["SIZE"], strict=True)
        ]
        dtype = np.dtype({"names": header["FIELDS"], "formats": formats})
        count = int(header["POINTS"][0])
    except (KeyError, ValueError) as error:
        raise BadValueError(
            f"radar file {path} has a PCD header this reader cannot use ({error})"
        ) from error
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).copy()


def camera_info(k: np.ndarray, width: int, height: int, timestamp_us: int, frame_id: str):
    """CameraInfo as nuscenes2bag writes it: K, R = I, P = [K|0], no distortion model."""
    info = m.camera_info_message(k, width, height, timestamp_us, frame_id)
    info.distortion_model = ""
    info.d = np.zeros(0)
    return info


def diagnostics(timestamp_us: int):
    T = m.T
    status = T["diagnostic_msgs/msg/DiagnosticStatus"](
        level=0,
        name="CAN bus",
        message="vehicle bus OK (recorded)",
        hardware_id="can0",
        values=[T["diagnostic_msgs/msg/KeyValue"](key="speed", value="n/a")],
    )
    return T["diagnostic_msgs/msg/DiagnosticArray"](
        header=m.header(timestamp_us, ""), status=[status]
    )


class Nuscenes2BagWriter:
    """Writes one scene in the nuscenes2bag layout; messages go through a small reorder
    buffer so the bag is in bag-time order although keyframe images are logged early or late."""

    def __init__(self, nusc, writer: Writer, cameras: Sequence[str], radars: Sequence[str]):
        self.nusc, self.writer = nusc, writer
        self.cameras, self.radars = set(cameras), set(radars)
        self.connections: dict[str, Connection] = {}
        self.pending: list = []
        self.order = itertools.count()
        self.key_log_time: dict[str, int] = {}  # sample token -> lidar keyframe stamp (µs)

    def _queue(self, topic: str, message, log_us: int) -> None:
        heapq.heappush(self.pending, (int(log_us), next(self.order), topic, message))

    def _flush(self, before_us: int | None = None) -> None:
        while self.pending and (before_us is None or self.pending[0][0] < before_us):
            log_us, _, topic, message = heapq.heappop(self.pending)
            if topic not in self.connections:
                self.connections[topic] = self.writer.add_connection(
                    topic, message.__msgtype__, typestore=m.TYPESTORE
                )
            self.writer.write(self.connections[topic], log_us * 1000, m.serialize(message))

    def write_scene(self, scene: dict, channels: Sequence[str]) -> None:
        samples = self._samples(scene)
        for index, sample in enumerate(samples):
            self._queue_transforms(sample, samples[index + 1 : index + 2])
        for item in scene_stream(self.nusc, scene, list(channels)):
            self._flush(item.timestamp - REORDER_WINDOW_US)
            self._write_item(item)
        self._flush()

    def _samples(self, scene: dict) -> list[dict]:
        samples, token = [], scene["first_sample_token"]
        while token:
            sample = self.nusc.get("sample", token)
            lidar = self.nusc.get("sample_data", sample["data"][LIDAR_CHANNEL])
            self.key_log_time[token] = lidar["timestamp"]
            samples.append(sample)
            token = sample["next"]
        return samples

    def _queue_transforms(self, sample: dict, following: list[dict]) -> None:
        transforms = []
        for keyframe in [sample, *following]:
            lidar_token = keyframe["data"][LIDAR_CHANNEL]
            stamp = self.key_log_time[keyframe["token"]]
            pose = self.nusc.get(
                "ego_pose", self.nusc.get("sample_data", lidar_token)["ego_pose_token"]
            )
            transforms.append(
                m.transform_stamped(
                    pose["rotation"], pose["translation"], stamp, m.MAP_FRAME, m.BASE_FRAME
                )
            )
            for channel, token in sorted(keyframe["data"].items()):
                record = self.nusc.get("sample_data", token)
                mount = self.nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
                transforms.append(
                    m.transform_stamped(
                        mount["rotation"], mount["translation"], stamp, m.BASE_FRAME, channel
                    )
                )
        log_us = self.key_log_time[sample["token"]]
        self._queue("/tf", m.tf_message(transforms), log_us)
        self._queue("/diagnostics", diagnostics(log_us), log_us)
        self._queue(MARKERS_TOPIC, m.T["visualization_msgs/msg/MarkerArray"](markers=[]), log_us)

    def _write_item(self, item: StreamItem) -> None:
        record = self.nusc.get("sample_data", item.token)
        path = Path(self.nusc.get_sample_data_path(item.token))
        if item.channel in self.cameras:
            log_us = (
                self.key_log_time[record["sample_token"]] if item.is_key_frame else item.timestamp
            )
            mount = self.nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
            k = np.asarray(mount["camera_intrinsic"], dtype=np.float64)
            image = m.compressed_image_message(path.read_bytes(), item.timestamp, item.channel)
            info = camera_info(k, record["width"], record["height"], item.timestamp, item.channel)
            self._queue(compressed_topic(item.channel), image, log_us)
            self._queue(f"/{item.channel}/camera_info", info, log_us)
        elif item.channel in self.radars:
            message = m.packed_cloud_message(read_pcd_records(path), item.timestamp, item.channel)
            self._queue(f"/{item.channel}", message, item.timestamp)
        else:
            points = np.fromfile(path, dtype="<f4").reshape(-1, len(m.LIDAR_FIELDS)).T
            message = m.point_cloud_message(points, m.LIDAR_FIELDS, item.timestamp, item.channel)
            self._queue(f"/{item.channel}", message, item.timestamp)
