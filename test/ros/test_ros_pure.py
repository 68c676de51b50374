"""Pure (no DDS) tests of the ROS glue: conversions, radar fields, sync, TF buffer, params."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import TransformStamped
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import Image

from lircdepth_ros.calibration import extrinsic_from_parameters
from lircdepth_ros.conversions import (
    MessageError,
    array_to_pointcloud2,
    image_to_numpy,
    image_to_rgb8,
    numpy_to_image,
    pointcloud2_to_array,
    to_uint8_array,
    xyz_to_pointcloud2,
)
from lircdepth_ros.radar import RadarFieldNames, radar_points_from_cloud
from lircdepth_ros.sync import ApproximateTimeSync
from lircdepth_ros.tf_buffer import TfBuffer, TransformError

RNG = np.random.default_rng(0)


def test_image_round_trip_each_encoding():
    for encoding, array in {
        "rgb8": RNG.integers(0, 255, (5, 7, 3), dtype=np.uint8),
        "mono8": RNG.integers(0, 255, (5, 7), dtype=np.uint8),
        "32FC1": RNG.random((5, 7), dtype=np.float32),
        "16UC1": RNG.integers(0, 65535, (5, 7), dtype=np.uint16),
    }.items():
        np.testing.assert_array_equal(image_to_numpy(numpy_to_image(array, encoding)), array)


def test_image_row_padding_and_big_endian():
    depth = RNG.random((4, 6), dtype=np.float32)
    padded = np.zeros((4, 6 * 4 + 8), np.uint8)
    padded[:, :24] = depth.astype(">f4").view(np.uint8)
    msg = Image(
        height=4, width=6, encoding="32FC1", is_bigendian=1, step=32, data=to_uint8_array(padded)
    )
    np.testing.assert_array_equal(image_to_numpy(msg), depth)


def test_bgr_and_mono_become_rgb():
    rgb = RNG.integers(0, 255, (3, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(image_to_rgb8(numpy_to_image(rgb[:, :, ::-1], "bgr8")), rgb)
    mono = rgb[:, :, 0]
    np.testing.assert_array_equal(
        image_to_rgb8(numpy_to_image(mono, "mono8")), np.dstack([mono] * 3)
    )


@pytest.mark.parametrize(
    "change, text",
    [
        ({"encoding": "yuv422"}, "encoding"),
        ({"step": 5}, "step"),
        ({"height": 50}, "truncated"),
    ],
)
def test_bad_images_raise_naming_the_field(change, text):
    msg = numpy_to_image(np.zeros((4, 6, 3), np.uint8), "rgb8")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(MessageError, match=text):
        image_to_numpy(msg)


def _radar_array(n: int, padding: int = 0) -> np.ndarray:
    dtype = np.dtype(
        {
            "names": ["x", "y", "z", "rcs", "vx_comp", "vy_comp"],
            "formats": ["<f4"] * 5 + ["<f8"],
            "offsets": [0, 4, 8, 12, 16, 24],
            "itemsize": 32 + padding,
        }
    )
    points = np.zeros(n, dtype)
    for name in dtype.names:
        points[name] = RNG.normal(size=n)
    return points


def test_pointcloud_round_trip_with_point_step_padding():
    points = _radar_array(9, padding=8)
    back = pointcloud2_to_array(array_to_pointcloud2(points))
    assert back.dtype.itemsize == 40
    for name in points.dtype.names:
        np.testing.assert_array_equal(back[name], points[name])


def test_pointcloud_big_endian_and_organised():
    points = _radar_array(6)
    msg = array_to_pointcloud2(points, height=2)
    big = points.astype(points.dtype.newbyteorder(">"))
    msg.is_bigendian = True
    msg.data = to_uint8_array(big.view(np.uint8))
    back = pointcloud2_to_array(msg)
    np.testing.assert_array_equal(back["vy_comp"], points["vy_comp"])
    assert msg.height == 2 and back.size == 6


def test_radar_fields_configurable_nan_dropped_empty_ok():
    points = _radar_array(5)
    points["x"][1] = np.nan
    points["z"][3] = np.inf
    names = RadarFieldNames(vx="vx_comp", vy="vy_comp")
    sweep = radar_points_from_cloud(array_to_pointcloud2(points), names)
    assert sweep.xyz.shape == (3, 3) and sweep.dropped_non_finite == 2
    np.testing.assert_allclose(sweep.features[:, 2], points["vy_comp"][[0, 2, 4]])
    default_names = radar_points_from_cloud(array_to_pointcloud2(points))
    assert np.all(default_names.features[:, 1:] == 0)  # no `vx`/`vy` field: zeros
    empty = radar_points_from_cloud(xyz_to_pointcloud2(np.zeros((0, 3))))
    assert empty.xyz.shape == (0, 3) and empty.features.shape == (0, 3)


def test_radar_missing_field_and_wrong_point_step():
    msg = xyz_to_pointcloud2(np.ones((4, 3)))
    with pytest.raises(MessageError, match="coordinate"):
        radar_points_from_cloud(msg, RadarFieldNames(z="height"))
    msg.point_step = 8
    with pytest.raises(MessageError, match="point_step"):
        radar_points_from_cloud(msg)
    msg = xyz_to_pointcloud2(np.ones((4, 3)))
    msg.data = msg.data[:20]
    with pytest.raises(MessageError, match="truncated"):
        radar_points_from_cloud(msg)


def test_sync_pairs_within_slop_radar_leads_or_lags():
    sync = ApproximateTimeSync(slop=0.02, queue_size=10)
    assert sync.add_radar(0.950, "r0", now=0) == []
    assert sync.add_image(1.000, "i1", now=0) == []  # no radar within the slop yet
    assert sync.add_radar(1.010, "r1", now=0) == [("i1", "r1")]  # radar lags
    assert sync.add_radar(1.070, "r2", now=0) == []
    # radar led by 10 ms; the next sweep (period 60 ms) would be 50 ms away: decided at once
    assert sync.add_image(1.080, "i2", now=0) == [("i2", "r2")]
    assert sync.add_radar(1.130, "r3", now=0) == []
    # the next sweep (~1.19) may be nearer than r3 (45 ms): wait for it
    assert sync.add_image(1.175, "i3", now=0) == []
    assert sync.add_radar(1.190, "r4", now=0) == [("i3", "r4")]
    assert sync.counters.pairs == 3


def test_sync_lost_sweeps_never_lengthen_the_predicted_period():
    """Sweeps lost on the way (best effort under load) leave longer intervals; a period
    taken from them would predict the next sweep too late and decide the image early."""
    sync = ApproximateTimeSync(slop=0.05, queue_size=10, max_wait=0.1)
    for stamp in (0.0, 0.06, 0.18, 0.30):  # 0.12 and 0.24 lost
        sync.add_radar(stamp, stamp, now=0)
    assert sync.radar_period() == pytest.approx(0.06)
    assert sync.add_image(0.35, "i1", now=0) == []  # 0.36 may come, nearer than 0.30
    assert sync.add_radar(0.36, 0.36, now=0) == [("i1", 0.36)]


def test_sync_max_wait_decides_when_radar_is_late_or_silent():
    sync = ApproximateTimeSync(slop=0.05, queue_size=10, max_wait=0.1)
    sync.add_radar(0.98, "r1", now=0)  # one sweep: no period known
    assert sync.add_image(1.0, "i1", now=0) == []
    assert sync.expire(now=0.05) == []
    assert sync.expire(now=0.11) == [("i1", "r1")]
    assert sync.add_image(2.0, "i2", now=1) == []  # no sweep left at all
    assert sync.expire(now=1.2) == []
    assert sync.counters.images_unmatched == 1 and sync.counters.decided_by_max_wait == 2


def test_sync_lockstep_12hz_camera_13hz_radar_never_stalls():
    """The bag player's lockstep order: each image must pair before the next image is sent.

    Stamps as the synthetic world writes them (radar offset 13 ms, 1 s of radar history),
    and the wall clock never advances, so max_wait cannot be what decides.
    """
    cameras = [round(j / 12.0, 6) for j in range(25)]
    radars = [round(t, 6) for t in np.arange(-1.0, 2.0 + 0.5 / 13, 1 / 13) + 0.013]
    radars = [t for t in radars if t <= 2.0 + 0.5 / 13]
    events = sorted([(t, 0, "radar") for t in radars] + [(t, 1, "image") for t in cameras])
    sync = ApproximateTimeSync(slop=0.05, queue_size=10, max_wait=0.1)
    paired: dict[float, float] = {}
    for stamp, _, stream in events:
        if stream == "image":
            assert all(c in paired for c in cameras if c < stamp), f"stalled before {stamp}"
            new = sync.add_image(stamp, stamp, now=0.0)
        else:
            new = sync.add_radar(stamp, stamp, now=0.0)
        paired.update(new)
    assert sorted(paired) == cameras  # the last image too, with no later sweep
    for image, radar in paired.items():
        assert radar == min(radars, key=lambda r: abs(r - image))
    assert sync.counters.decided_by_max_wait == 0


def test_sync_drops_pairs_beyond_slop_and_backwards_stamps():
    sync = ApproximateTimeSync(slop=0.01, queue_size=3)
    sync.add_image(2.0, "i1")
    assert sync.add_radar(2.05, "r1") == []
    assert sync.counters.images_unmatched == 1
    assert sync.add_image(1.9, "old") == []
    assert sync.counters.stamps_backwards == 1
    for k in range(5):
        sync.add_image(3.0 + k, f"i{k}")
    assert sync.counters.queue_overflow == 2


IDENTITY = Rotation.identity()


def _transform(parent, child, stamp, xyz, rotation=IDENTITY):
    msg = TransformStamped()
    msg.header.frame_id, msg.child_frame_id = parent, child
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(stamp), int(round((stamp % 1) * 1e9))
    msg.transform.translation.x, msg.transform.translation.y, msg.transform.translation.z = xyz
    q = rotation.as_quat()
    (
        msg.transform.rotation.x,
        msg.transform.rotation.y,
        msg.transform.rotation.z,
        msg.transform.rotation.w,
    ) = q
    return msg


def test_tf_chain_static_and_interpolated_time_travel():
    buffer = TfBuffer(cache_time=5.0)
    buffer.set_transform(
        _transform(
            "base_link", "camera", 0, (1.0, 0, 0), Rotation.from_euler("z", 90, degrees=True)
        ),
        static=True,
    )
    buffer.set_transform(_transform("base_link", "radar", 0, (0, 2.0, 0)), static=True)
    buffer.set_transform(_transform("odom", "base_link", 10.0, (0, 0, 0)))
    buffer.set_transform(
        _transform(
            "odom", "base_link", 11.0, (10.0, 0, 0), Rotation.from_euler("z", 90, degrees=True)
        )
    )
    camera_from_radar = buffer.lookup("camera", "radar")
    np.testing.assert_allclose(camera_from_radar[:3, 3], [2.0, 1.0, 0.0], atol=1e-12)
    odom_from_base = buffer.lookup("odom", "base_link", 10.5)
    np.testing.assert_allclose(odom_from_base[:3, 3], [5.0, 0, 0])
    np.testing.assert_allclose(
        Rotation.from_matrix(odom_from_base[:3, :3]).as_euler("xyz", degrees=True),
        [0, 0, 45],
        atol=1e-9,
    )
    moved = buffer.lookup_full("camera", 11.0, "radar", 10.0, "odom")
    origin_in_odom = np.array([0.0, 2.0, 0.0])  # radar origin at t=10
    expected = np.linalg.inv(buffer.lookup("odom", "camera", 11.0)) @ np.append(origin_in_odom, 1)
    np.testing.assert_allclose(moved[:3, 3], expected[:3], atol=1e-9)
    with pytest.raises(TransformError, match="extrapolation"):
        buffer.lookup("odom", "base_link", 12.0)
    with pytest.raises(TransformError, match="not connected"):
        buffer.lookup("camera", "lidar")


def test_extrinsic_parameters_validated():
    assert extrinsic_from_parameters([], []) is None
    matrix = extrinsic_from_parameters([1, 2, 3], [0, 0, 0, 1])
    np.testing.assert_allclose(matrix[:3, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="unit quaternion"):
        extrinsic_from_parameters([1, 2, 3], [0, 0, 0, 2])


def test_shipped_yaml_comes_before_the_users_ros_args():
    from lircdepth_ros.launcher import build_ros_args

    ros_args, _ = build_ros_args(["--ros-args", "-p", "sync.slop:=0.04", "-r", "image:=/cam"])
    assert ros_args[:2] == ["--ros-args", "--params-file"]
    assert ros_args[2].endswith("config/lircdepth.yaml")
    assert ros_args[3:] == ["-p", "sync.slop:=0.04", "-r", "image:=/cam"]


def test_string_overrides_are_quoted_as_typed():
    from lircdepth_ros.params import quote_string_overrides

    args = ["--ros-args", "-p", "radar.field_y:=y", "-p", "frames.fixed:=", "-p", "sync.slop:=1.0"]
    args += ["-p", "lircdepth_node:frames.camera:=it's", "-p", "device:='cpu'"]
    quoted = ["-p", "radar.field_y:='y'", "-p", "frames.fixed:=''", "-p", "sync.slop:=1.0"]
    quoted += ["-p", "lircdepth_node:frames.camera:='it''s'", "-p", "device:='cpu'"]
    assert quote_string_overrides(args)[1:] == quoted


def test_superseded_pairs_are_not_problems():
    from lircdepth_ros.diagnostics import summary_line

    values = {"dropped.superseded_pairs": 7.0, "published": 3.0}
    assert summary_line(values).endswith("problems=0")
    assert summary_line({**values, "tf_failures": 2.0}).endswith("problems=2")
