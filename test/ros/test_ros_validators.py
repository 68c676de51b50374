"""Pure tests of the input validators the node runs in its callbacks (no DDS, fast).

Each malformed field maps to its own `MessageError.kind`, and checking a message that
claims a huge size allocates nothing of that size.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, PointField

from lircdepth_ros.conversions import (
    DEFAULT_MAX_IMAGE_PIXELS,
    MessageError,
    camera_matrix_from_info,
    check_colour_image,
    check_image,
    check_pointcloud2,
    image_to_rgb8,
    numpy_to_image,
    pointcloud2_to_array,
    to_uint8_array,
    xyz_to_pointcloud2,
)
from lircdepth_ros.diagnostics import KindThrottle, problem_count
from lircdepth_ros.radar import RadarFieldNames, check_radar_cloud, radar_points_from_cloud


def _image(**fields):
    msg = numpy_to_image(np.zeros((4, 6, 3), np.uint8), "rgb8")
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


def _cloud(n: int = 4, **fields):
    msg = xyz_to_pointcloud2(np.ones((n, 3)), rcs=np.zeros(n))
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


@pytest.mark.parametrize(
    "fields, kind",
    [
        ({"encoding": "yuv422"}, "image.encoding"),
        ({"encoding": ""}, "image.encoding"),
        ({"width": 0, "height": 0, "step": 0, "data": to_uint8_array(b"")}, "image.size"),
        ({"step": 5}, "image.step"),
        ({"data": to_uint8_array(bytes(71))}, "image.data_length"),
        ({"data": to_uint8_array(bytes(73))}, "image.data_length"),
        ({"step": 20}, "image.data_length"),  # padding that data does not have
        ({"width": 3000, "height": 2001, "step": 9000}, "image.too_large"),
    ],
)
def test_check_image_names_the_kind(fields, kind):
    with pytest.raises(MessageError) as error:
        check_image(_image(**fields), DEFAULT_MAX_IMAGE_PIXELS)
    assert error.value.kind == kind


def test_check_image_accepts_padding_big_endian_flag_and_the_limit_itself():
    padded = _image(step=20, data=to_uint8_array(bytes(80)), is_bigendian=1)
    assert check_image(padded, 24) == (np.dtype("u1"), 3)
    assert image_to_rgb8(padded, 24).shape == (4, 6, 3)
    with pytest.raises(MessageError, match="limits.max_image_pixels"):
        check_image(padded, 23)


def test_check_colour_image_refuses_depth_encodings():
    depth = numpy_to_image(np.full((2, 3), np.nan, np.float32), "32FC1")
    assert check_image(depth)[1] == 1
    with pytest.raises(MessageError) as error:
        check_colour_image(depth)
    assert error.value.kind == "image.encoding"


@pytest.mark.parametrize(
    "change, kind",
    [
        (lambda m: setattr(m, "fields", []), "pointcloud2.fields"),
        (lambda m: setattr(m.fields[0], "datatype", 99), "pointcloud2.fields"),
        (lambda m: setattr(m.fields[1], "name", "x"), "pointcloud2.fields"),  # duplicate name
        (lambda m: setattr(m, "point_step", 4), "pointcloud2.point_step"),
        (lambda m: setattr(m, "point_step", 0), "pointcloud2.point_step"),
        (lambda m: setattr(m, "row_step", 63), "pointcloud2.row_step"),
        (lambda m: setattr(m, "row_step", 65), "pointcloud2.data_length"),
        (lambda m: setattr(m, "data", m.data[:-1]), "pointcloud2.data_length"),
        (lambda m: setattr(m, "data", m.data + m.data[:4]), "pointcloud2.data_length"),
        (lambda m: setattr(m, "width", 2**31), "pointcloud2.too_many_points"),
    ],
)
def test_check_pointcloud2_names_the_kind(change, kind):
    msg = _cloud()
    change(msg)
    with pytest.raises(MessageError) as error:
        check_pointcloud2(msg, 1000)
    assert error.value.kind == kind


def test_empty_cloud_is_valid_but_must_have_no_data():
    empty = xyz_to_pointcloud2(np.zeros((0, 3)))
    assert pointcloud2_to_array(empty).size == 0
    empty.data = to_uint8_array(bytes(12))
    with pytest.raises(MessageError, match="too long"):
        check_pointcloud2(empty)


def test_big_endian_cloud_reads_the_same_points():
    msg = _cloud()
    points = pointcloud2_to_array(msg)
    msg.is_bigendian = True
    msg.data = to_uint8_array(points.astype(points.dtype.newbyteorder(">")).view(np.uint8))
    np.testing.assert_array_equal(radar_points_from_cloud(msg).xyz, np.ones((4, 3)))


@pytest.mark.parametrize(
    "change, kind",
    [
        (lambda m: setattr(m.fields[2], "name", "height"), "pointcloud2.missing_field"),
        (lambda m: setattr(m.fields[0], "count", 3), "pointcloud2.fields"),
        (lambda m: setattr(m.fields[3], "count", 2), "pointcloud2.fields"),  # rcs
    ],
)
def test_check_radar_cloud_needs_scalar_coordinates(change, kind):
    msg = _cloud()
    msg.fields.append(PointField(name="pad", offset=16, datatype=PointField.FLOAT32, count=1))
    msg.point_step = msg.row_step // 4 + 4
    msg.row_step = msg.point_step * 4
    msg.data = to_uint8_array(bytes(msg.row_step))
    check_radar_cloud(msg)
    change(msg)
    with pytest.raises(MessageError) as error:
        check_radar_cloud(msg, RadarFieldNames())
    assert error.value.kind == kind


def test_too_many_points_refused_before_conversion():
    with pytest.raises(MessageError, match="limits.max_radar_points") as error:
        radar_points_from_cloud(_cloud(200), max_points=100)
    assert error.value.kind == "pointcloud2.too_many_points"


@pytest.mark.parametrize(
    "k",
    [
        np.zeros(9),
        np.full(9, np.nan),
        np.array([500.0, 0, 320, 0, 500, 240, 0, 0, 0]),
        np.array([500.0, 0, 320, 0, -500, 240, 0, 0, 1]),
        np.array([500.0, 0, 320, 0, 500, 240, 1, 0, 1]),
        np.array([500.0, 0, 320, 0, np.inf, 240, 0, 0, 1]),
    ],
)
def test_camera_matrix_refuses_unusable_k(k):
    info = CameraInfo()
    info.k = k
    with pytest.raises(MessageError) as error:
        camera_matrix_from_info(info)
    assert error.value.kind == "camera_info.k"


def test_camera_matrix_short_k_and_a_good_one():
    class ShortInfo:  # a CameraInfo with a short K can only exist outside the message type
        k = [500.0, 0.0, 320.0]

    with pytest.raises(MessageError, match="3 values"):
        camera_matrix_from_info(ShortInfo())
    info = CameraInfo()
    info.k = np.array([500.0, 0, 320, 0, 500, 240, 0, 0, 1])
    np.testing.assert_array_equal(camera_matrix_from_info(info), info.k.reshape(3, 3))


def test_huge_claims_are_refused_without_allocating():
    image = _image(width=100_000, height=100_000, step=300_000)
    cloud = _cloud(width=2**31 - 1)
    tracemalloc.start()
    for check, msg in ((check_image, image), (check_pointcloud2, cloud)):
        with pytest.raises(MessageError):
            check(msg)  # no limit given: refused by the data length alone
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100_000


def test_kind_throttle_logs_first_of_each_kind_then_once_per_period():
    gate = KindThrottle(period=5.0)
    assert gate.admit("rejected.image.encoding", now=0.0) == 0
    assert gate.admit("rejected.image.step", now=0.1) == 0  # another kind is not hidden
    assert [gate.admit("rejected.image.encoding", now=t) for t in (1.0, 2.0, 4.9)] == [None] * 3
    assert gate.admit("rejected.image.encoding", now=5.1) == 3
    assert gate.admit("rejected.image.encoding", now=5.2) is None


def test_rejections_count_as_problems():
    assert problem_count({"rejected.image.size": 2.0, "published": 5.0, "tf_failures": 1}) == 3
