"""ROS 2 messages as the `rosbags` typestore builds them, and back to numpy (ROS-free).

The bag tools never need a ROS install: messages are built and parsed with the rosbags
typestore (Jazzy definitions, which `ros2 bag` of Jazzy and newer accepts), and the
player publishes the resulting CDR bytes unchanged.
"""

from __future__ import annotations

import numpy as np
from rosbags.typesys import Stores, get_typestore

from lircdepth.bagdata.images import COMPRESSED_IMAGE, IMAGE
from lircdepth.bagdata.pointcloud import POINT_FIELD_TYPES, cloud_fields
from lircdepth.bagdata.tf import stamp_ns
from lircdepth.bagdata.tf import transform_matrix as tf_transform_matrix
from lircdepth.synth.sensors import RADAR_FIELDS as NUSCENES_RADAR_FIELDS

TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
T = TYPESTORE.types

CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
POINT_CLOUD = "sensor_msgs/msg/PointCloud2"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"

MAP_FRAME = "map"
BASE_FRAME = "base_link"

# The 18 rows of nuScenes' RadarPointCloud, named as in the devkit and the .pcd headers.
RADAR_FIELDS = tuple(NUSCENES_RADAR_FIELDS)
# LIDAR_TOP .pcd.bin columns (the devkit's LidarPointCloud keeps the first four).
LIDAR_FIELDS = ("x", "y", "z", "intensity", "ring")

_FLOAT32 = 7  # sensor_msgs/PointField.FLOAT32


def stamp_from_microseconds(timestamp_us: int):
    """builtin_interfaces/Time from a nuScenes timestamp (microseconds since epoch)."""
    seconds, micros = divmod(int(timestamp_us), 1_000_000)
    return T["builtin_interfaces/msg/Time"](sec=seconds, nanosec=micros * 1000)


stamp_to_nanoseconds = stamp_ns  # nanoseconds of a builtin_interfaces/Time


def header(timestamp_us: int, frame_id: str):
    return T["std_msgs/msg/Header"](stamp=stamp_from_microseconds(timestamp_us), frame_id=frame_id)


def image_message(rgb: np.ndarray, timestamp_us: int, frame_id: str):
    """sensor_msgs/Image, encoding rgb8, from an H x W x 3 uint8 array."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    return T[IMAGE](
        header=header(timestamp_us, frame_id),
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=width * 3,
        data=np.ascontiguousarray(rgb).reshape(-1),
    )


def camera_info_message(
    camera_matrix: np.ndarray, width: int, height: int, timestamp_us: int, frame_id: str
):
    """sensor_msgs/CameraInfo of an undistorted pinhole camera (nuScenes images are rectified)."""
    k = np.asarray(camera_matrix, dtype=np.float64).reshape(3, 3)
    return T[CAMERA_INFO](
        header=header(timestamp_us, frame_id),
        height=height,
        width=width,
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=k.reshape(-1),
        r=np.eye(3).reshape(-1),
        p=np.hstack([k, np.zeros((3, 1))]).reshape(-1),
        binning_x=0,
        binning_y=0,
        roi=T["sensor_msgs/msg/RegionOfInterest"](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
        ),
    )


def point_cloud_message(
    points: np.ndarray, field_names: tuple[str, ...], timestamp_us: int, frame_id: str
):
    """Unordered sensor_msgs/PointCloud2 with one float32 field per row of an F x N array."""
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[0] != len(field_names):
        raise ValueError(
            f"expected {len(field_names)} x N points for fields {field_names}, got {points.shape}"
        )
    count = points.shape[1]
    point_step = 4 * len(field_names)
    fields = [
        T["sensor_msgs/msg/PointField"](name=name, offset=4 * i, datatype=_FLOAT32, count=1)
        for i, name in enumerate(field_names)
    ]
    data = np.ascontiguousarray(points.T).view(np.uint8).reshape(-1)
    dense = bool(np.isfinite(points).all())
    return _unordered_cloud(fields, count, point_step, data, dense, timestamp_us, frame_id)


def compressed_image_message(data: bytes, timestamp_us: int, frame_id: str, fmt: str = "jpeg"):
    """sensor_msgs/CompressedImage holding already encoded bytes (jpeg or png)."""
    return T[COMPRESSED_IMAGE](
        header=header(timestamp_us, frame_id), format=fmt, data=np.frombuffer(data, dtype=np.uint8)
    )


_POINT_FIELD_CODES = {
    np.dtype(code).str[1:]: datatype for datatype, code in POINT_FIELD_TYPES.items()
}


def packed_cloud_message(points: np.ndarray, timestamp_us: int, frame_id: str):
    """Unordered little-endian sensor_msgs/PointCloud2 of a structured array, each field at
    its offset in the dtype (any itemsize, unaligned fields included)."""
    points = np.asarray(points)
    points = points.astype(points.dtype.newbyteorder("<"))
    dtype = points.dtype
    if dtype.names is None or dtype.fields is None:
        raise TypeError(f"points must be a structured array, not of dtype {dtype}")
    fields = []
    for name in dtype.names:
        scalar, offset = dtype.fields[name][:2]
        fields.append(
            T["sensor_msgs/msg/PointField"](
                name=name, offset=int(offset), datatype=_POINT_FIELD_CODES[scalar.str[1:]], count=1
            )
        )
    count = len(points)
    data = (
        np.ascontiguousarray(points).view(np.uint8).reshape(-1) if count else np.zeros(0, np.uint8)
    )
    return _unordered_cloud(fields, count, dtype.itemsize, data, True, timestamp_us, frame_id)


def _unordered_cloud(fields, count, point_step, data, dense, timestamp_us, frame_id):
    """A little-endian sensor_msgs/PointCloud2 of `count` points in one row."""
    return T[POINT_CLOUD](
        header=header(timestamp_us, frame_id),
        height=1,
        width=count,
        fields=fields,
        is_bigendian=False,
        point_step=point_step,
        row_step=point_step * count,
        data=data,
        is_dense=dense,
    )


def point_cloud_fields(message) -> dict[str, np.ndarray]:
    """Field name -> N float32 values of any PointCloud2, read by field offset."""
    return cloud_fields(message, where=f"PointCloud2 in frame {message.header.frame_id!r}")


def transform_stamped(rotation_wxyz, translation, timestamp_us: int, parent: str, child: str):
    """geometry_msgs/TransformStamped: the pose of `child` in `parent` (ROS's convention).

    Takes the nuScenes quaternion and translation as they are, so a reader rebuilding the
    matrix with `make_transform` gets bit for bit the matrix offline preparation uses.
    """
    w, x, y, z = (float(v) for v in rotation_wxyz)
    tx, ty, tz = (float(v) for v in translation)
    return T["geometry_msgs/msg/TransformStamped"](
        header=header(timestamp_us, parent),
        child_frame_id=child,
        transform=T["geometry_msgs/msg/Transform"](
            translation=T["geometry_msgs/msg/Vector3"](x=tx, y=ty, z=tz),
            rotation=T["geometry_msgs/msg/Quaternion"](x=x, y=y, z=z, w=w),
        ),
    )


def tf_message(transforms: list):
    return T[TF_MESSAGE](transforms=transforms)


transform_matrix = tf_transform_matrix  # 4x4 T_parent_from_child of a TransformStamped


def serialize(message) -> bytes:
    return bytes(TYPESTORE.serialize_cdr(message, message.__msgtype__))


def deserialize(data: bytes, msgtype: str):
    return TYPESTORE.deserialize_cdr(data, msgtype)
