"""sensor_msgs Image and PointCloud2 <-> numpy, without cv_bridge or sensor_msgs_py.

Why our own: neither cv_bridge nor sensor_msgs_py is published on PyPI, and the node
must run on a plain venv. Where they are importable (a real ROS install) the
`*_with_library` functions use them, and the tests check both give the same arrays.
Every malformed message raises `MessageError` naming the field that is wrong, so the
node can count and skip it instead of crashing.
"""

from __future__ import annotations

import array
import sys

import numpy as np
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import Header

try:
    from cv_bridge import CvBridge
except ImportError:
    CvBridge = None
try:
    from sensor_msgs_py import point_cloud2 as sensor_msgs_py_point_cloud2
except ImportError:
    sensor_msgs_py_point_cloud2 = None


class MessageError(ValueError):
    """A message that cannot be converted; the text names the offending field."""


# encoding -> (numpy scalar type, channels)
IMAGE_ENCODINGS: dict[str, tuple[type, int]] = {
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "rgba8": (np.uint8, 4),
    "bgra8": (np.uint8, 4),
    "mono8": (np.uint8, 1),
    "8UC1": (np.uint8, 1),
    "8UC3": (np.uint8, 3),
    "mono16": (np.uint16, 1),
    "16UC1": (np.uint16, 1),
    "32FC1": (np.float32, 1),
}

# PointField datatype constant -> numpy scalar type
POINT_FIELD_TYPES: dict[int, type] = {
    PointField.INT8: np.int8,
    PointField.UINT8: np.uint8,
    PointField.INT16: np.int16,
    PointField.UINT16: np.uint16,
    PointField.INT32: np.int32,
    PointField.UINT32: np.uint32,
    PointField.FLOAT32: np.float32,
    PointField.FLOAT64: np.float64,
}
NUMPY_TO_POINT_FIELD = {np.dtype(v): k for k, v in POINT_FIELD_TYPES.items()}

HOST_IS_BIG_ENDIAN = sys.byteorder == "big"


def to_uint8_array(data: bytes | np.ndarray) -> array.array:
    """Bytes as the array.array('B') that rclpy stores without a per-element check (fast)."""
    out = array.array("B")
    out.frombytes(np.ascontiguousarray(data).tobytes() if isinstance(data, np.ndarray) else data)
    return out


def image_to_numpy(msg: Image) -> np.ndarray:
    """H x W (x C) array in the message's own encoding; honours `step` padding and endianness."""
    if msg.encoding not in IMAGE_ENCODINGS:
        raise MessageError(
            f"Image.encoding '{msg.encoding}' is not supported (supported: {', '.join(IMAGE_ENCODINGS)})"
        )
    scalar, channels = IMAGE_ENCODINGS[msg.encoding]
    dtype = np.dtype(scalar).newbyteorder(">" if msg.is_bigendian else "<")
    height, width = int(msg.height), int(msg.width)
    if height <= 0 or width <= 0:
        raise MessageError(f"Image.height/width must be positive, got {height} x {width}")
    row_bytes = width * channels * dtype.itemsize
    if msg.step < row_bytes:
        raise MessageError(
            f"Image.step {msg.step} is smaller than width x pixel size = {row_bytes}"
        )
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size < msg.step * height:
        raise MessageError(
            f"Image.data is truncated: {buffer.size} bytes for {height} rows of step {msg.step}"
        )
    rows = buffer[: msg.step * height].reshape(height, msg.step)[:, :row_bytes]
    image = np.ascontiguousarray(rows).view(dtype).reshape(height, width, channels)
    image = image.astype(dtype.newbyteorder("="), copy=False)
    return image[:, :, 0] if channels == 1 else image


def image_to_rgb8(msg: Image) -> np.ndarray:
    """H x W x 3 uint8 RGB from an rgb8/bgr8/rgba8/bgra8/mono8 image (the model's input)."""
    image = image_to_numpy(msg)
    if image.dtype != np.uint8:
        raise MessageError(f"Image.encoding '{msg.encoding}' is not a colour or mono8 image")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if msg.encoding.startswith("bgr"):
        return np.ascontiguousarray(image[:, :, 2::-1])
    return np.ascontiguousarray(image[:, :, :3])


def numpy_to_image(image: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Image message (no row padding, host byte order) from an H x W (x C) array."""
    if encoding not in IMAGE_ENCODINGS:
        raise ValueError(f"encoding '{encoding}' is not supported")
    scalar, channels = IMAGE_ENCODINGS[encoding]
    image = np.ascontiguousarray(image, dtype=scalar)
    if image.ndim != (2 if channels == 1 else 3) or (channels > 1 and image.shape[2] != channels):
        raise ValueError(f"array of shape {image.shape} does not fit encoding '{encoding}'")
    msg = Image(header=header or Header(), encoding=encoding)
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.is_bigendian = int(HOST_IS_BIG_ENDIAN)
    msg.step = int(image.shape[1] * channels * image.itemsize)
    msg.data = to_uint8_array(image)
    return msg


def image_to_numpy_with_library(msg: Image) -> np.ndarray:
    """cv_bridge's view of the image (only where cv_bridge is installed)."""
    if CvBridge is None:
        raise RuntimeError("cv_bridge is not importable here")
    return CvBridge().imgmsg_to_cv2(msg, desired_encoding="passthrough")


def pointcloud2_dtype(msg: PointCloud2) -> np.dtype:
    """Structured dtype of one point, with offsets and `point_step` padding from the message."""
    if not msg.fields:
        raise MessageError("PointCloud2.fields is empty")
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for field in msg.fields:
        if field.datatype not in POINT_FIELD_TYPES:
            raise MessageError(
                f"PointCloud2 field '{field.name}' has unknown datatype {field.datatype}"
            )
        scalar = np.dtype(POINT_FIELD_TYPES[field.datatype]).newbyteorder(order)
        count = max(int(field.count), 1)
        end = field.offset + scalar.itemsize * count
        if end > msg.point_step:
            raise MessageError(
                f"PointCloud2 field '{field.name}' ends at byte {end}, beyond point_step {msg.point_step}"
            )
        names.append(field.name)
        formats.append(scalar if count == 1 else (scalar, (count,)))
        offsets.append(int(field.offset))
    try:
        return np.dtype(
            {
                "names": names,
                "formats": formats,
                "offsets": offsets,
                "itemsize": int(msg.point_step),
            }
        )
    except ValueError as error:
        raise MessageError(
            f"PointCloud2.fields do not form a valid point layout: {error}"
        ) from error


def pointcloud2_to_array(msg: PointCloud2) -> np.ndarray:
    """Flat structured array of all points (organised clouds are flattened row by row).

    Non-finite points are kept (is_dense=false clouds carry NaN); callers filter.
    """
    dtype = pointcloud2_dtype(msg)
    height, width = int(msg.height), int(msg.width)
    if height * width == 0:
        return np.zeros(0, dtype=dtype)
    if msg.row_step < width * msg.point_step:
        raise MessageError(
            f"PointCloud2.row_step {msg.row_step} is smaller than width x point_step = {width * msg.point_step}"
        )
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size < msg.row_step * height:
        raise MessageError(
            f"PointCloud2.data is truncated: {buffer.size} bytes for {height} rows of row_step {msg.row_step}"
        )
    rows = buffer[: msg.row_step * height].reshape(height, msg.row_step)[
        :, : width * msg.point_step
    ]
    return np.ascontiguousarray(rows).view(dtype).reshape(-1)


def pointcloud2_to_array_with_library(msg: PointCloud2) -> np.ndarray:
    """sensor_msgs_py's view of the cloud (only where sensor_msgs_py is installed)."""
    if sensor_msgs_py_point_cloud2 is None:
        raise RuntimeError("sensor_msgs_py is not importable here")
    return np.asarray(sensor_msgs_py_point_cloud2.read_points(msg, skip_nans=False)).reshape(-1)


def array_to_pointcloud2(
    points: np.ndarray, header: Header | None = None, height: int = 1
) -> PointCloud2:
    """PointCloud2 from a structured array (fields in host byte order); unorganised unless height > 1."""
    points = np.ascontiguousarray(points)
    if points.dtype.names is None:
        raise ValueError("points must be a structured array with named fields")
    fields = []
    for name in points.dtype.names:
        scalar, offset = points.dtype.fields[name][:2]
        base = scalar.base.newbyteorder("=")
        if base not in NUMPY_TO_POINT_FIELD:
            raise ValueError(f"field '{name}' has type {scalar} with no PointField equivalent")
        count = int(np.prod(scalar.shape)) if scalar.shape else 1
        fields.append(
            PointField(
                name=name, offset=int(offset), datatype=NUMPY_TO_POINT_FIELD[base], count=count
            )
        )
    width = points.size // height if height else 0
    msg = PointCloud2(
        header=header or Header(), height=int(height), width=int(width), fields=fields
    )
    msg.is_bigendian = HOST_IS_BIG_ENDIAN
    msg.point_step = int(points.dtype.itemsize)
    msg.row_step = int(points.dtype.itemsize * width)
    msg.is_dense = bool(all(np.isfinite(points[n]).all() for n in points.dtype.names))
    msg.data = to_uint8_array(points.view(np.uint8) if points.size else b"")
    return msg


def xyz_to_pointcloud2(
    xyz: np.ndarray, header: Header | None = None, height: int = 1, **extra: np.ndarray
) -> PointCloud2:
    """float32 x, y, z (+ extra float32 fields by name) cloud from an N x 3 array."""
    xyz = np.asarray(xyz, dtype=np.float32).reshape(-1, 3)
    names = ["x", "y", "z", *extra]
    points = np.zeros(len(xyz), dtype=[(n, np.float32) for n in names])
    points["x"], points["y"], points["z"] = xyz.T
    for name, values in extra.items():
        points[name] = np.asarray(values, dtype=np.float32).reshape(-1)
    return array_to_pointcloud2(points, header, height)
