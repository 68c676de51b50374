"""sensor_msgs/PointCloud2 -> numpy, by field offset.

Any point_step (packed 43-byte radar points, padded 32-byte lidar points), unaligned
fields, either endianness, organised clouds with row padding (row_step). Works on the
rosbags message objects the reader yields and on anything with the same attributes
(an rclpy message included), so the node and the tools read clouds alike.
"""

from __future__ import annotations

import numpy as np

from lircdepth.bagdata.errors import BagDataError

# sensor_msgs/PointField datatypes.
POINT_FIELD_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}


def cloud_dtype(message, where: str = "PointCloud2") -> np.dtype:
    """Structured dtype of one point: the fields at their offsets, itemsize point_step."""
    order = ">" if message.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for field in message.fields:
        code = POINT_FIELD_TYPES.get(int(field.datatype))
        if code is None:
            raise BagDataError(
                f"{where}: field {field.name!r} has unknown datatype {field.datatype}"
            )
        scalar = np.dtype(order + code)
        count = max(int(field.count), 1)
        end = int(field.offset) + scalar.itemsize * count
        if end > int(message.point_step):
            raise BagDataError(
                f"{where}: field {field.name!r} ends at byte {end}, beyond point_step {message.point_step}"
            )
        if field.name in names:
            raise BagDataError(f"{where}: field {field.name!r} appears twice")
        names.append(field.name)
        formats.append(scalar if count == 1 else (scalar, (count,)))
        offsets.append(int(field.offset))
    return np.dtype(
        {
            "names": names,
            "formats": formats,
            "offsets": offsets,
            "itemsize": int(message.point_step),
        }
    )


def cloud_points(message, where: str = "PointCloud2") -> np.ndarray:
    """Flat structured array of every point (rows of an organised cloud one after another)."""
    dtype = cloud_dtype(message, where)
    height, width = int(message.height), int(message.width)
    if height * width == 0:
        return np.zeros(0, dtype=dtype)
    row_step = int(message.row_step) or width * dtype.itemsize
    if row_step < width * dtype.itemsize:
        raise BagDataError(
            f"{where}: row_step {row_step} is smaller than width x point_step = {width * dtype.itemsize}"
        )
    # numpy 1.26's stubs give ndarray its buffer protocol (__buffer__) only for Python >= 3.12.
    data = np.frombuffer(memoryview(np.asarray(message.data, dtype=np.uint8)), dtype=np.uint8)  # type: ignore[arg-type]
    if data.size < height * row_step:
        raise BagDataError(
            f"{where}: data holds {data.size} bytes, height x row_step needs {height * row_step}"
        )
    rows = data[: height * row_step].reshape(height, row_step)[:, : width * dtype.itemsize]
    return np.ascontiguousarray(rows).view(dtype).reshape(-1)


def cloud_fields(
    message, names=None, where: str = "PointCloud2", dtype=np.float32
) -> dict[str, np.ndarray]:
    """Field name -> N values (as `dtype`, native byte order) of the named fields (default
    all single-valued fields); a named field the cloud lacks is a one-line BagDataError."""
    points = cloud_points(message, where)
    available = points.dtype.names or ()
    wanted = [n for n in available if points.dtype[n].shape == ()] if names is None else list(names)
    missing = [n for n in wanted if n not in available]
    if missing:
        raise BagDataError(f"{where}: no field(s) {missing}; it has {list(available)}")
    return {n: points[n].astype(dtype) for n in wanted}


def cloud_xyz(message, where: str = "PointCloud2") -> np.ndarray:
    """N x 3 float32 x, y, z (the values as stored) with non-finite points dropped."""
    fields = cloud_fields(message, ("x", "y", "z"), where)
    xyz = np.stack([fields["x"], fields["y"], fields["z"]], axis=1)
    return xyz[np.isfinite(xyz).all(axis=1)]
