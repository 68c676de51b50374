"""Frames as community nuScenes bags carry them (the "nuscenes2bag" layout), built from a
nuScenes-format dataroot (the synthetic world in tests) as rclpy messages.

Per keyframe: the CAM_FRONT image as `sensor_msgs/CompressedImage` holding the original
JPEG file bytes, its CameraInfo (K, R = I, P = [K|0], empty distortion model and D), the
RADAR_FRONT sweep as a PointCloud2 holding the PCD file's packed 43-byte points (18
fields, unaligned), and one `/tf` TFMessage (no `/tf_static`): map -> base_link and
base_link -> each sensor at this keyframe's lidar stamp and the next keyframe's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from geometry_msgs.msg import TransformStamped
from sensor_msgs.msg import CameraInfo, CompressedImage, PointCloud2, PointField
from std_msgs.msg import Header

from lircdepth.synth.formats import RADAR_DTYPE
from lircdepth_ros.conversions import NUMPY_TO_POINT_FIELD, to_uint8_array

CAMERA = "CAM_FRONT"
RADAR = "RADAR_FRONT"
LIDAR = "LIDAR_TOP"
MAP_FRAME = "map"
BASE_FRAME = "base_link"


@dataclass
class CommunityFrame:
    image: CompressedImage
    camera_info: CameraInfo
    radar: PointCloud2
    tf: list[TransformStamped]  # this keyframe's /tf message


def header(frame_id: str, microseconds: int) -> Header:
    out = Header(frame_id=frame_id)
    out.stamp.sec, out.stamp.nanosec = divmod(int(microseconds) * 1000, 1_000_000_000)
    return out


def transform(parent: str, child: str, microseconds: int, record: dict) -> TransformStamped:
    """A TransformStamped from a nuScenes translation + rotation (w, x, y, z) record."""
    msg = TransformStamped(header=header(parent, microseconds), child_frame_id=child)
    t, (w, x, y, z) = record["translation"], record["rotation"]
    msg.transform.translation.x, msg.transform.translation.y, msg.transform.translation.z = map(
        float, t
    )
    q = msg.transform.rotation
    q.w, q.x, q.y, q.z = float(w), float(x), float(y), float(z)
    return msg


def read_radar_pcd(path: Path) -> np.ndarray:
    """The packed records of a binary nuScenes radar PCD file (RADAR_DTYPE, 43 bytes each)."""
    data = path.read_bytes()
    marker = b"DATA binary\n"
    start = data.index(marker) + len(marker)
    head = data[:start].decode().splitlines()
    count = int(next(line.split()[1] for line in head if line.startswith("POINTS")))
    return np.frombuffer(data[start : start + count * RADAR_DTYPE.itemsize], dtype=RADAR_DTYPE)


def packed_cloud(records: np.ndarray, msg_header: Header) -> PointCloud2:
    """PointCloud2 of packed little-endian records, fields at their packed offsets."""
    fields = [
        PointField(
            name=name,
            offset=int(records.dtype.fields[name][1]),
            datatype=NUMPY_TO_POINT_FIELD[records.dtype.fields[name][0].newbyteorder("=")],
            count=1,
        )
        for name in records.dtype.names
    ]
    msg = PointCloud2(header=msg_header, height=1, width=len(records), fields=fields)
    msg.is_bigendian = False
    msg.point_step = records.dtype.itemsize
    msg.row_step = msg.point_step * len(records)
    msg.is_dense = True
    msg.data = to_uint8_array(np.ascontiguousarray(records).view(np.uint8))
    return msg


def _camera_info(msg_header: Header, width: int, height: int, k: np.ndarray) -> CameraInfo:
    info = CameraInfo(header=msg_header, width=width, height=height, distortion_model="")
    info.k = k.ravel()
    info.r = np.eye(3).ravel()
    info.p = np.column_stack([k, np.zeros(3)]).ravel()
    return info


def _jpeg_size(data: bytes) -> tuple[int, int]:
    from lircdepth_ros.image_input import compressed_size

    return compressed_size(CompressedImage(format="jpeg", data=to_uint8_array(data)))


def load_community_frames(
    dataroot: str | Path, version: str = "v1.0-mini", limit: int = 4
) -> list[CommunityFrame]:
    """Up to `limit` keyframes of the first scene, in time order."""
    from nuscenes.nuscenes import NuScenes

    root = Path(dataroot)
    nusc = NuScenes(version=version, dataroot=str(root), verbose=False)
    samples: list[dict] = []
    token = nusc.scene[0]["first_sample_token"]
    while token and len(samples) < limit + 1:
        samples.append(nusc.get("sample", token))
        token = samples[-1]["next"]
    frames = []
    for index, sample in enumerate(samples[:limit]):
        camera = nusc.get("sample_data", sample["data"][CAMERA])
        radar = nusc.get("sample_data", sample["data"][RADAR])
        camera_cal = nusc.get("calibrated_sensor", camera["calibrated_sensor_token"])
        radar_cal = nusc.get("calibrated_sensor", radar["calibrated_sensor_token"])
        jpeg = (root / camera["filename"]).read_bytes()
        image = CompressedImage(header=header(CAMERA, camera["timestamp"]), format="jpeg")
        image.data = to_uint8_array(jpeg)
        width, height = _jpeg_size(jpeg)
        k = np.asarray(camera_cal["camera_intrinsic"], dtype=np.float64)
        info = _camera_info(image.header, width, height, k)
        cloud = packed_cloud(
            read_radar_pcd(root / radar["filename"]), header(RADAR, radar["timestamp"])
        )
        tf = []
        for keyframe in samples[index : index + 2]:  # this keyframe and the next one
            lidar = nusc.get("sample_data", keyframe["data"][LIDAR])
            stamp = lidar["timestamp"]
            pose = nusc.get("ego_pose", lidar["ego_pose_token"])
            tf.append(transform(MAP_FRAME, BASE_FRAME, stamp, pose))
            tf.append(transform(BASE_FRAME, CAMERA, stamp, camera_cal))
            tf.append(transform(BASE_FRAME, RADAR, stamp, radar_cal))
        frames.append(CommunityFrame(image, info, cloud, tf))
    return frames
