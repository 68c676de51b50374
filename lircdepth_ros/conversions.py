"""sensor_msgs Image and PointCloud2 <-> numpy, without cv_bridge or sensor_msgs_py.

Why our own: neither cv_bridge nor sensor_msgs_py is published on PyPI, and the node
must run on a plain venv; these converters also check every field and honour row padding.
Where sensor_msgs_py is installed, the real-tools tests check both give the same arrays.
Every malformed message raises `MessageError` naming the field that is wrong, with a
`kind` ("image.encoding", "pointcloud2.row_step", ...) the node counts it under. The
`check_*` validators read only the header fields and the data length, never the payload,
so a message claiming 4000 x 3000 pixels or a billion points is refused before anything
the size of its claim is allocated.
"""

from __future__ import annotations

import array
import sys
from typing import Literal

import numpy as np
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

# Default input size limits (node parameters limits.max_image_pixels / limits.max_radar_points):
# four 1600 x 900 cameras' worth of pixels, and far more points than any radar sweep has
# (nuScenes: 125 per radar), so a lidar cloud sent to the radar topic is refused.
DEFAULT_MAX_IMAGE_PIXELS = 6_000_000
DEFAULT_MAX_RADAR_POINTS = 50_000


class MessageError(ValueError):
    """A message that cannot be converted; the text names the offending field.

    `kind` ("<message>.<what>", e.g. "image.encoding") is what the node counts it under.
    """

    def __init__(self, text: str, kind: str = "message.invalid") -> None:
        super().__init__(text)
        self.kind = kind


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
# The encodings the model takes: 8-bit colour or mono (8UC3 is read as RGB).
COLOUR_ENCODINGS = tuple(e for e, (scalar, _) in IMAGE_ENCODINGS.items() if scalar == np.uint8)

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
NUMPY_TO_POINT_FIELD: dict[np.dtype, int] = {np.dtype(v): k for k, v in POINT_FIELD_TYPES.items()}

HOST_IS_BIG_ENDIAN = sys.byteorder == "big"


def check_pixel_limit(
    what: str, kind: str, width: int, height: int, max_pixels: int | None
) -> None:
    """MessageError `kind` when a `width` x `height` image is over `limits.max_image_pixels`
    (checked from the header, before anything of that size is allocated)."""
    if max_pixels is not None and width * height > max_pixels:
        raise MessageError(
            f"{what} of {width} x {height} = {width * height} pixels is over the limit of "
            f"{max_pixels} (limits.max_image_pixels)",
            kind,
        )


def to_uint8_array(data: bytes | np.ndarray) -> array.array:
    """Bytes as the array.array('B') that rclpy stores without a per-element check (fast)."""
    out = array.array("B")
    out.frombytes(np.ascontiguousarray(data).tobytes() if isinstance(data, np.ndarray) else data)
    return out


def check_image(msg: Image, max_pixels: int | None = None) -> tuple[np.dtype, int]:
    """(pixel scalar dtype, channels) of a well-formed image; MessageError otherwise.

    Header and data length only: the pixels are not touched, nothing is allocated.
    """
    if msg.encoding not in IMAGE_ENCODINGS:
        raise MessageError(
            f"Image.encoding '{msg.encoding}' is not supported (supported: {', '.join(IMAGE_ENCODINGS)})",
            "image.encoding",
        )
    scalar, channels = IMAGE_ENCODINGS[msg.encoding]
    dtype: np.dtype = np.dtype(scalar).newbyteorder(">" if msg.is_bigendian else "<")
    height, width = int(msg.height), int(msg.width)
    if height <= 0 or width <= 0:
        raise MessageError(
            f"Image.height/width must be positive, got {width} x {height}", "image.size"
        )
    check_pixel_limit("Image", "image.too_large", width, height, max_pixels)
    row_bytes = width * channels * dtype.itemsize
    if msg.step < row_bytes:
        raise MessageError(
            f"Image.step {msg.step} is smaller than width x pixel size = {row_bytes}",
            "image.step",
        )
    _check_data_length("Image", len(msg.data), msg.step, "step", height, "image.data_length")
    return dtype, channels


def _check_data_length(
    message: str, size: int, step: int, step_name: str, rows: int, kind: str
) -> None:
    """`data` must hold exactly `rows` rows of `step` bytes (REP: data size = step x rows)."""
    expected = step * rows
    if size != expected:
        state = "truncated" if size < expected else "too long"
        raise MessageError(
            f"{message}.data is {state}: {size} bytes for {rows} rows of {step_name} {step} "
            f"(expected {expected})",
            kind,
        )


def image_to_numpy(msg: Image, max_pixels: int | None = None) -> np.ndarray:
    """H x W (x C) array in the message's own encoding; honours `step` padding and endianness."""
    dtype, channels = check_image(msg, max_pixels)
    height, width = int(msg.height), int(msg.width)
    row_bytes = width * channels * dtype.itemsize
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(height, msg.step)[:, :row_bytes]
    image = np.ascontiguousarray(rows).view(dtype).reshape(height, width, channels)
    image = image.astype(dtype.newbyteorder("="), copy=False)
    return image[:, :, 0] if channels == 1 else image


def check_colour_image(msg: Image, max_pixels: int | None = None, min_rows: int = 1) -> None:
    """`check_image`, the encoding must be one the model takes (8-bit colour or mono), and
    the image at least `min_rows` high (the node passes the network's minimum)."""
    if msg.encoding not in COLOUR_ENCODINGS:
        raise MessageError(
            f"Image.encoding '{msg.encoding}' is not accepted (accepted: "
            f"{', '.join(COLOUR_ENCODINGS)})",
            "image.encoding",
        )
    check_image(msg, max_pixels)
    if msg.height < min_rows:
        raise MessageError(
            f"Image of {msg.width} x {msg.height} is under the network's minimum of "
            f"{min_rows} rows",
            "image.too_small",
        )


def image_to_rgb8(msg: Image, max_pixels: int | None = None) -> np.ndarray:
    """H x W x 3 uint8 RGB from an rgb8/bgr8/rgba8/bgra8/mono8 image (the model's input)."""
    check_colour_image(msg, max_pixels)
    image = image_to_numpy(msg, max_pixels)
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


def camera_matrix_from_info(info: CameraInfo) -> np.ndarray:
    """3 x 3 K from CameraInfo.k; MessageError when it is not a usable pinhole matrix
    (9 finite values, fx, fy > 0, last row 0 0 1): a zero K would put every radar point
    at infinity."""
    k = np.asarray(info.k, dtype=np.float64).ravel()
    if k.size != 9:
        raise MessageError(f"CameraInfo.k has {k.size} values, expected 9", "camera_info.k")
    k = k.reshape(3, 3)
    if (
        not np.all(np.isfinite(k))
        or k[0, 0] <= 0
        or k[1, 1] <= 0
        or k[2].tolist() != [0.0, 0.0, 1.0]
    ):
        raise MessageError(
            f"CameraInfo.k is not a valid pinhole matrix: {k.ravel().tolist()}", "camera_info.k"
        )
    return k


def pointcloud2_dtype(msg: PointCloud2) -> np.dtype:
    """Structured dtype of one point, with offsets and `point_step` padding from the message."""
    if not msg.fields:
        raise MessageError("PointCloud2.fields is empty", "pointcloud2.fields")
    order: Literal[">", "<"] = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for field in msg.fields:
        if field.datatype not in POINT_FIELD_TYPES:
            raise MessageError(
                f"PointCloud2 field '{field.name}' has unknown datatype {field.datatype}",
                "pointcloud2.fields",
            )
        scalar: np.dtype = np.dtype(POINT_FIELD_TYPES[field.datatype]).newbyteorder(order)
        count = max(int(field.count), 1)
        end = field.offset + scalar.itemsize * count
        if end > msg.point_step:
            raise MessageError(
                f"PointCloud2 field '{field.name}' ends at byte {end}, beyond point_step {msg.point_step}",
                "pointcloud2.point_step",
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
            f"PointCloud2.fields do not form a valid point layout: {error}", "pointcloud2.fields"
        ) from error


def check_pointcloud2(msg: PointCloud2, max_points: int | None = None) -> np.dtype:
    """Point dtype of a well-formed cloud; MessageError otherwise.

    Header and data length only: no point is read, nothing the size of the cloud is allocated.
    """
    dtype = pointcloud2_dtype(msg)
    height, width = int(msg.height), int(msg.width)
    if max_points is not None and height * width > max_points:
        raise MessageError(
            f"PointCloud2 of {width} x {height} = {height * width} points is over the limit of "
            f"{max_points} (limits.max_radar_points)",
            "pointcloud2.too_many_points",
        )
    if height * width and msg.row_step < width * msg.point_step:
        raise MessageError(
            f"PointCloud2.row_step {msg.row_step} is smaller than width x point_step = {width * msg.point_step}",
            "pointcloud2.row_step",
        )
    row_step = msg.row_step if height * width else 0
    _check_data_length(
        "PointCloud2", len(msg.data), row_step, "row_step", height, "pointcloud2.data_length"
    )
    return dtype


def pointcloud2_to_array(msg: PointCloud2, max_points: int | None = None) -> np.ndarray:
    """Flat structured array of all points (organised clouds are flattened row by row).

    Non-finite points are kept (is_dense=false clouds carry NaN); callers filter.
    """
    dtype = check_pointcloud2(msg, max_points)
    height, width = int(msg.height), int(msg.width)
    if height * width == 0:
        return np.zeros(0, dtype=dtype)
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(height, msg.row_step)[
        :, : width * msg.point_step
    ]
    return np.ascontiguousarray(rows).view(dtype).reshape(-1)


def array_to_pointcloud2(
    points: np.ndarray, header: Header | None = None, height: int = 1
) -> PointCloud2:
    """PointCloud2 from a structured array (fields in host byte order); unorganised unless height > 1."""
    points = np.ascontiguousarray(points)
    if points.dtype.names is None or points.dtype.fields is None:
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
