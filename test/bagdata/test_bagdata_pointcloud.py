"""PointCloud2 decoding by field offset: a 43-byte packed radar cloud, a big-endian cloud
and a padded organised cloud, against numbers written by hand and, where importable,
against sensor_msgs_py.point_cloud2.read_points on the same bytes."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from lircdepth.bagdata import BagDataError, cloud_fields, cloud_xyz
from lircdepth.bagdata import messages as m
from test.helpers.nuscenes import RADAR_LAYOUT

T = m.T
F32, I8, I16, U8 = 7, 1, 3, 2


def cloud(layout, point_step, data: bytes, width: int, height=1, big=False, row_step=None):
    fields = [
        T["sensor_msgs/msg/PointField"](name=n, offset=o, datatype=d, count=1) for n, o, d in layout
    ]
    return T[m.POINT_CLOUD](
        header=m.header(0, "radar"),
        height=height,
        width=width,
        fields=fields,
        is_bigendian=big,
        point_step=point_step,
        row_step=row_step or point_step * width,
        data=np.frombuffer(data, dtype=np.uint8),
        is_dense=True,
    )


def radar_point(x, y, z, dyn, ident, rcs, vx, vy, vxc, vyc, flags, order="<") -> bytes:
    raw = struct.pack(order + "fffbhfffff", x, y, z, dyn, ident, rcs, vx, vy, vxc, vyc)
    return raw + struct.pack("8b", *flags)


def as_rclpy(message):
    """The same cloud as an rclpy message (for sensor_msgs_py)."""
    from sensor_msgs.msg import PointCloud2, PointField

    out = PointCloud2(
        height=message.height,
        width=message.width,
        is_bigendian=message.is_bigendian,
        point_step=message.point_step,
        row_step=message.row_step,
        is_dense=True,
    )
    out.fields = [
        PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=1)
        for f in message.fields
    ]
    out.data = bytes(np.asarray(message.data, dtype=np.uint8))
    return out


def reference(message, names):
    point_cloud2 = pytest.importorskip("sensor_msgs_py.point_cloud2")
    points = point_cloud2.read_points(as_rclpy(message), field_names=names, skip_nans=False)
    return {n: np.asarray(points[n], dtype=np.float64) for n in names}


def test_packed_43_byte_radar_reads_every_field_by_hand():
    data = radar_point(
        1.5, -2.25, 0.5, 3, 513, 7.5, 1.0, -1.0, 0.75, -0.5, [1, 2, 3, 4, 5, 6, 7, -8]
    )
    data += radar_point(10.0, 20.0, -1.0, -1, -2, -5.0, 0.0, 2.0, 0.0, 1.5, [0] * 8)
    assert len(data) == 86
    fields = cloud_fields(cloud(RADAR_LAYOUT, 43, data, 2), dtype=np.float64)
    assert fields["x"].tolist() == [1.5, 10.0] and fields["y"].tolist() == [-2.25, 20.0]
    assert fields["dyn_prop"].tolist() == [3, -1] and fields["id"].tolist() == [513, -2]
    assert fields["rcs"].tolist() == [7.5, -5.0] and fields["vy_comp"].tolist() == [-0.5, 1.5]
    assert fields["flag7"].tolist() == [-8, 0]


def test_packed_radar_equals_sensor_msgs_py():
    rng = np.random.default_rng(0)
    data = b"".join(
        radar_point(
            *rng.normal(size=3),
            int(rng.integers(-128, 127)),
            int(rng.integers(-999, 999)),
            *rng.normal(size=5),
            rng.integers(-128, 127, 8).tolist(),
        )
        for _ in range(25)
    )
    message = cloud(RADAR_LAYOUT, 43, data, 25)
    names = [n for n, _, _ in RADAR_LAYOUT]
    ours = cloud_fields(message, dtype=np.float64)
    for name, values in reference(message, names).items():
        np.testing.assert_array_equal(ours[name], values, err_msg=name)


def test_big_endian_cloud():
    layout = [("x", 0, F32), ("y", 4, F32), ("z", 8, F32), ("intensity", 12, U8)]
    data = b"".join(struct.pack(">fffB", *p) for p in [(1.0, 2.0, 3.0, 9), (-4.5, 0.25, 8.0, 255)])
    message = cloud(layout, 13, data, 2, big=True)
    fields = cloud_fields(message)
    assert fields["x"].tolist() == [1.0, -4.5] and fields["intensity"].tolist() == [9, 255]
    np.testing.assert_array_equal(cloud_xyz(message), [[1, 2, 3], [-4.5, 0.25, 8]])
    for name, values in reference(message, ["x", "y", "z", "intensity"]).items():
        np.testing.assert_array_equal(fields[name], values, err_msg=name)


def test_padded_organised_cloud_with_row_padding():
    # 2 x 2 points of 32 bytes (x y z at 0/4/8, rcs at 16, padding between), rows of 72 bytes.
    layout = [("x", 0, F32), ("y", 4, F32), ("z", 8, F32), ("rcs", 16, F32)]
    rows = []
    for r in range(2):
        points = [struct.pack("<fff4xf12x", r, c, r + c, 10 * r + c) for c in range(2)]
        rows.append(b"".join(points) + b"\xee" * 8)
    message = cloud(layout, 32, b"".join(rows), 2, height=2, row_step=72)
    fields = cloud_fields(message)
    assert fields["rcs"].tolist() == [0, 1, 10, 11] and fields["z"].tolist() == [0, 1, 1, 2]
    assert cloud_xyz(message).shape == (4, 3)


def test_missing_field_and_overlong_field_are_one_line_errors():
    message = cloud([("x", 0, F32), ("y", 4, F32)], 8, b"\0" * 16, 2)
    with pytest.raises(BagDataError, match=r"no field\(s\) \['z'\]") as error:
        cloud_xyz(message)
    assert "\n" not in str(error.value)
    with pytest.raises(BagDataError, match="beyond point_step"):
        cloud_fields(cloud([("x", 6, F32)], 8, b"\0" * 8, 1))
