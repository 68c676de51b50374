"""nuScenes -> ROS 2 bags, one per scene, written with the `rosbags` library.

Topics (frame ids are the nuScenes channel names):

| topic | type | frame |
|---|---|---|
| `/<CAM>/image_rgb` | sensor_msgs/Image, rgb8 | `<CAM>` |
| `/<CAM>/camera_info` | sensor_msgs/CameraInfo (K of calibrated_sensor) | `<CAM>` |
| `/<RADAR>` | sensor_msgs/PointCloud2, the 18 devkit fields as float32 | `<RADAR>` |
| `/LIDAR_TOP` | sensor_msgs/PointCloud2, x y z intensity ring | `LIDAR_TOP` |
| `/tf_static` | every calibrated sensor of the scene in `base_link` | |
| `/tf` | ego pose `map` -> `base_link` at each sample_data time | |

Stamps are the nuScenes timestamps. metadata.yaml's custom_data records the scene, the
dataset version, the converted cameras and radars (`lircdepth.cameras`,
`lircdepth.radars`: JSON lists) and the keyframes (`lircdepth.keyframes`: per sample, the
stamp of every converted channel, so each camera's keyframes are listed) so the online
evaluator scores exactly the frames offline evaluation scores, camera by camera.
Cameras and radars default to CAM_FRONT and RADAR_FRONT; `all` converts every camera
(radar) of the dataroot, as `lircdepth prepare` takes it.

`layout="nuscenes2bag"` writes the community layout instead (`nuscenes2bag.py`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from rosbags.interfaces import (
    Connection,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import StoragePlugin, Writer
from tqdm import tqdm

from lircdepth.bagdata.keyframes import KEYFRAMES_KEY
from lircdepth.data.nusc_sources import (
    load_radar,
    open_nuscenes,
    read_lidar_rows,
    resolve_channels,
)
from lircdepth.errors import (
    BadValueError,
    ExistingPathError,
    JobError,
    MissingPathError,
    UnknownNameError,
)
from lircdepth.locks import folder_lock
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.nuscenes2bag import Nuscenes2BagWriter
from lircdepth_ros.bag.scene_stream import StreamItem, find_scene, scene_channels, scene_stream

LIDAR_CHANNEL = "LIDAR_TOP"
DEFAULT_CAMERAS = ("CAM_FRONT",)
DEFAULT_RADARS = ("RADAR_FRONT",)
LAYOUTS = ("lircdepth", "nuscenes2bag")
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
BAG_FORMAT_VERSION: Literal[8, 9] = 9
CAMERAS_KEY = "lircdepth.cameras"
RADARS_KEY = "lircdepth.radars"

_NO_TIME = QosTime(0, 0)


def _qos(durability: QosDurability, depth: int) -> Qos:
    return Qos(
        QosHistory.KEEP_LAST,
        depth,
        QosReliability.RELIABLE,
        durability,
        _NO_TIME,
        _NO_TIME,
        QosLiveliness.AUTOMATIC,
        _NO_TIME,
        False,
    )


SENSOR_QOS = _qos(QosDurability.VOLATILE, 10)
LATCHED_QOS = _qos(QosDurability.TRANSIENT_LOCAL, 1)


def image_topic(camera: str) -> str:
    return f"/{camera}/image_rgb"


def camera_info_topic(camera: str) -> str:
    return f"/{camera}/camera_info"


def point_cloud_topic(channel: str) -> str:
    return f"/{channel}"


def calibration(nusc, sample_data_token: str) -> dict:
    """The calibrated_sensor record (sensor pose in base_link) of a sample_data record."""
    return nusc.get(
        "calibrated_sensor", nusc.get("sample_data", sample_data_token)["calibrated_sensor_token"]
    )


def ego_pose(nusc, sample_data_token: str) -> dict:
    """The ego_pose record (base_link pose in map) of a sample_data record."""
    return nusc.get("ego_pose", nusc.get("sample_data", sample_data_token)["ego_pose_token"])


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read camera image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_lidar(path: Path) -> np.ndarray:
    """5 x N (x, y, z, intensity, ring) of a nuScenes .pcd.bin sweep."""
    return read_lidar_rows(path)


def read_radar(path: Path, all_points: bool) -> np.ndarray:
    """18 x N radar fields as the devkit loads them (with its default filters unless all_points)."""
    return load_radar(path, "none" if all_points else "devkit")


class SceneBagWriter:
    """Writes one scene's stream into an open rosbags Writer, one record at a time."""

    def __init__(
        self,
        nusc,
        writer: Writer,
        cameras: Sequence[str],
        radars: Sequence[str],
        radar_all_points: bool,
    ):
        self.nusc = nusc
        self.writer = writer
        self.cameras = set(cameras)
        self.radars = set(radars)
        self.radar_all_points = radar_all_points
        self.connections: dict[str, Connection] = {}
        self.last_pose_stamp: int | None = None

    def _write(self, topic: str, message, timestamp_us: int, qos: Qos = SENSOR_QOS) -> None:
        if topic not in self.connections:
            self.connections[topic] = self.writer.add_connection(
                topic, message.__msgtype__, typestore=m.TYPESTORE, offered_qos_profiles=[qos]
            )
        self.writer.write(self.connections[topic], int(timestamp_us) * 1000, m.serialize(message))

    def write_static_transforms(self, scene: dict) -> None:
        sample = self.nusc.get("sample", scene["first_sample_token"])
        mounts = {
            channel: calibration(self.nusc, token)
            for channel, token in sorted(sample["data"].items())
        }
        transforms = [
            m.transform_stamped(
                c["rotation"], c["translation"], sample["timestamp"], m.BASE_FRAME, channel
            )
            for channel, c in mounts.items()
        ]
        self._write("/tf_static", m.tf_message(transforms), sample["timestamp"], LATCHED_QOS)

    def write_item(self, item: StreamItem) -> None:
        pose = ego_pose(self.nusc, item.token)
        if pose["timestamp"] != self.last_pose_stamp:
            transform = m.transform_stamped(
                pose["rotation"], pose["translation"], pose["timestamp"], m.MAP_FRAME, m.BASE_FRAME
            )
            self._write("/tf", m.tf_message([transform]), pose["timestamp"])
            self.last_pose_stamp = pose["timestamp"]
        path = Path(self.nusc.get_sample_data_path(item.token))
        if item.channel in self.cameras:
            self._write_camera(item, path)
        elif item.channel in self.radars:
            points = read_radar(path, self.radar_all_points)
            message = m.point_cloud_message(points, m.RADAR_FIELDS, item.timestamp, item.channel)
            self._write(point_cloud_topic(item.channel), message, item.timestamp)
        else:
            message = m.point_cloud_message(
                read_lidar(path), m.LIDAR_FIELDS, item.timestamp, item.channel
            )
            self._write(point_cloud_topic(item.channel), message, item.timestamp)

    def _write_camera(self, item: StreamItem, path: Path) -> None:
        rgb = read_rgb(path)
        record = self.nusc.get("sample_data", item.token)
        intrinsics = self.nusc.get("calibrated_sensor", record["calibrated_sensor_token"])[
            "camera_intrinsic"
        ]
        height, width = rgb.shape[:2]
        info = m.camera_info_message(
            np.asarray(intrinsics), width, height, item.timestamp, item.channel
        )
        self._write(
            image_topic(item.channel),
            m.image_message(rgb, item.timestamp, item.channel),
            item.timestamp,
        )
        self._write(camera_info_topic(item.channel), info, item.timestamp)


def keyframe_table(nusc, scene: dict, channels: Sequence[str]) -> list[dict]:
    """Per sample of the scene: its token and the stamp (microseconds) of each channel's keyframe."""
    table, token = [], scene["first_sample_token"]
    while token:
        sample = nusc.get("sample", token)
        stamps = {c: nusc.get("sample_data", sample["data"][c])["timestamp"] for c in channels}
        table.append({"sample_token": token, "timestamp": sample["timestamp"], "stamps": stamps})
        token = sample["next"]
    return table


def write_project_layout(
    nusc, writer: Writer, scene: dict, channels: list[str], cameras, radars, radar_all_points: bool
) -> None:
    """The project's own layout (see the module docstring) with its metadata tables."""
    writer.set_custom_data("nuscenes.scene", scene["name"])
    writer.set_custom_data("nuscenes.version", nusc.version)
    writer.set_custom_data(CAMERAS_KEY, json.dumps(list(cameras)))
    writer.set_custom_data(RADARS_KEY, json.dumps(list(radars)))
    writer.set_custom_data(KEYFRAMES_KEY, json.dumps(keyframe_table(nusc, scene, channels)))
    with writer:
        scene_writer = SceneBagWriter(nusc, writer, cameras, radars, radar_all_points)
        scene_writer.write_static_transforms(scene)
        items = scene_stream(nusc, scene, channels)
        for item in tqdm(items, desc=scene["name"], unit="msg", leave=False):
            scene_writer.write_item(item)


def convert_scene(
    nusc,
    scene_name: str,
    out_path: Path,
    cameras: Sequence[str] = DEFAULT_CAMERAS,
    radars: Sequence[str] = DEFAULT_RADARS,
    storage: str = "mcap",
    radar_all_points: bool = False,
    overwrite: bool = False,
    layout: str = "lircdepth",
) -> Path:
    """Write one scene as a ROS 2 bag directory at `out_path` (replaced only if `overwrite`).

    `cameras` / `radars` may be `("all",)`: every camera (radar) channel of the dataroot.
    layout: "lircdepth" (this module's) or "nuscenes2bag" (see `nuscenes2bag.py`).
    """
    if storage not in STORAGES:
        raise BadValueError(f"unknown bag storage {storage!r}; choose one of {sorted(STORAGES)}")
    if layout not in LAYOUTS:
        raise BadValueError(f"unknown --layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    cameras = resolve_channels(nusc, cameras, "camera", "--cameras")
    radars = resolve_channels(nusc, radars, "radar", "--radars")
    scene = find_scene(nusc, scene_name)
    available = scene_channels(nusc, scene)
    channels = [*cameras, *radars, LIDAR_CHANNEL]
    missing = [c for c in channels if c not in available]
    if missing:
        raise UnknownNameError(
            f"scene {scene['name']} has no channel(s) {missing} (channels: {', '.join(available)})"
        )
    if out_path.exists() and not overwrite:
        raise ExistingPathError(
            f"bag {out_path} exists already",
            hint="remove it, choose another --out, or pass --overwrite",
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temp folder, moved into place whole: a bag is never half there.
    staging = Path(
        tempfile.mkdtemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    )
    written = staging / out_path.name
    try:
        writer = Writer(written, version=BAG_FORMAT_VERSION, storage_plugin=STORAGES[storage])
        if layout == "nuscenes2bag":
            with writer:
                Nuscenes2BagWriter(nusc, writer, cameras, radars).write_scene(scene, channels)
        else:
            write_project_layout(nusc, writer, scene, channels, cameras, radars, radar_all_points)
        if out_path.exists():
            shutil.rmtree(out_path)
        written.rename(out_path)
    except OSError as error:
        if error.filename is None:  # rosbags' writes name no file: a full disk names the bag
            error.filename = str(out_path)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_path


def convert_scenes(
    dataroot: str | Path,
    version: str,
    out_dir: str | Path,
    scenes: Sequence[str] | None = None,
    storage: str = "mcap",
    cameras: Sequence[str] = DEFAULT_CAMERAS,
    radars: Sequence[str] = DEFAULT_RADARS,
    radar_all_points: bool = False,
    overwrite: bool = False,
    layout: str = "lircdepth",
) -> list[Path]:
    """Convert scenes (names or tokens; all when None) to `out_dir/<scene name>/` bags in
    the project's layout or, with layout="nuscenes2bag", the community one."""
    dataroot = Path(dataroot)
    if not (dataroot / version).is_dir():
        raise MissingPathError(
            f"no nuScenes tables at {dataroot / version} (check --dataroot and --version)"
        )
    nusc = open_nuscenes(dataroot, version)
    names = list(scenes) if scenes else [s["name"] for s in nusc.scene]
    if not names:
        raise JobError(f"nothing to convert: {dataroot / version / 'scene.json'} lists no scene")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir, "lircdepth bag convert"):
        return [
            convert_scene(
                nusc,
                name,
                out_dir / find_scene(nusc, name)["name"],
                cameras,
                radars,
                storage,
                radar_all_points,
                overwrite,
                layout,
            )
            for name in tqdm(names, desc="scenes", unit="scene")
        ]
