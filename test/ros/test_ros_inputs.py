"""The node's input readers without processes: packed, big-endian and padded radar clouds
(against sensor_msgs_py where importable and against numbers written by hand), the radar
driver presets and the zero-channel rule, CompressedImage checks and decoding, the
image_transport topic rule, the silent-topic explanation, and bounded TF extrapolation.
"""

from __future__ import annotations

import copy
import importlib.util
import struct

import cv2
import numpy as np
import pytest
from geometry_msgs.msg import TransformStamped
from sensor_msgs.msg import CompressedImage, Image, PointCloud2, PointField

from lircdepth_ros.conversions import MessageError, pointcloud2_to_array, to_uint8_array
from lircdepth_ros.image_input import (
    check_image_message,
    compressed_image,
    compressed_size,
    compressed_to_rgb8,
    image_subscription,
    to_rgb8,
)
from lircdepth_ros.radar import check_radar_cloud, radar_points_from_cloud
from lircdepth_ros.radar_fields import (
    PRESETS,
    RadarChannelMonitor,
    RadarFieldNames,
    preset_fields,
    zero_channels,
)
from lircdepth_ros.tf_buffer import TfBuffer, TransformError, clear_on_time_jump, tf2_links
from lircdepth_ros.tf_window import BoundedTransforms, chain_bounds, extrapolate
from lircdepth_ros.topic_types import TopicTypes
from test.helpers.nuscenes import RADAR_LAYOUT
from test.helpers.ros_env import next_domain

HAVE_SENSOR_MSGS_PY = importlib.util.find_spec("sensor_msgs_py") is not None
F32, I8, I16 = PointField.FLOAT32, PointField.INT8, PointField.INT16

# --- radar clouds read by offset ------------------------------------------------------------

# Two points written by hand: (x, y, z, dyn_prop, id, rcs, vx, vy, vx_comp, vy_comp, flags).
HAND_POINTS = [
    (10.5, -2.25, 0.5, 3, 1234, 7.5, -1.5, 0.25, 0.125, -0.75, (1, 2, 3, 4, 5, 6, 7, -8)),
    (42.0, 3.0, -0.5, -1, -7, -4.0, 2.0, -3.0, 1.0, 0.5, (0, 0, 0, 0, 0, 0, 0, 1)),
]
FORMATS = {F32: "f", I8: "b", I16: "h"}


def _pack(point, layout, step: int, big_endian: bool) -> bytes:
    x, y, z, dyn, ident, rcs, vx, vy, vxc, vyc, flags = point
    values = [x, y, z, dyn, ident, rcs, vx, vy, vxc, vyc, *flags]
    out = bytearray(step)
    order = ">" if big_endian else "<"
    for (_, offset, kind), value in zip(layout, values, strict=True):
        struct.pack_into(order + FORMATS[kind], out, offset, value)
    return bytes(out)


def _cloud(layout, step: int, big_endian: bool = False, row_padding: int = 0) -> PointCloud2:
    fields = [PointField(name=n, offset=o, datatype=d, count=1) for n, o, d in layout]
    data = b"".join(_pack(p, layout, step, big_endian) for p in HAND_POINTS)
    msg = PointCloud2(height=1, width=len(HAND_POINTS), fields=fields, point_step=step)
    msg.is_bigendian = big_endian
    msg.row_step = step * len(HAND_POINTS) + row_padding
    msg.data = to_uint8_array(data + b"\xee" * row_padding)
    return msg


def _padded_layout():
    """Every field moved to a 4-byte-aligned slot with gaps, 64-byte points."""
    return [(name, 4 * index + 2, kind) for index, (name, _, kind) in enumerate(RADAR_LAYOUT)]


CLOUDS = {
    "packed_43_bytes": lambda: _cloud(RADAR_LAYOUT, 43),
    "big_endian": lambda: _cloud(RADAR_LAYOUT, 43, big_endian=True),
    "padded": lambda: _cloud(_padded_layout(), 80),
}


@pytest.mark.parametrize("case", CLOUDS)
def test_radar_cloud_read_by_offset_equals_hand_numbers(case):
    msg = CLOUDS[case]()
    points = pointcloud2_to_array(msg)
    for index, hand in enumerate(HAND_POINTS):
        x, y, z, dyn, ident, rcs, vx, vy, vxc, vyc, flags = hand
        row = points[index]
        read = (row["x"], row["y"], row["z"], row["rcs"], row["vx"], row["vy"])
        assert read == (x, y, z, rcs, vx, vy)
        assert (row["dyn_prop"], row["id"], row["vx_comp"], row["vy_comp"]) == (
            dyn,
            ident,
            vxc,
            vyc,
        )
        assert [row[f"flag{i}"] for i in range(8)] == list(flags)
    radar = radar_points_from_cloud(msg)
    np.testing.assert_array_equal(radar.xyz, [p[:3] for p in HAND_POINTS])
    np.testing.assert_array_equal(radar.features, [p[5:8] for p in HAND_POINTS])


@pytest.mark.skipif(not HAVE_SENSOR_MSGS_PY, reason="sensor_msgs_py not installed")
@pytest.mark.parametrize("case", CLOUDS)
def test_radar_cloud_read_by_offset_equals_sensor_msgs_py(case):
    from sensor_msgs_py import point_cloud2

    msg = CLOUDS[case]()
    ours = pointcloud2_to_array(msg)
    # read_points byte-swaps a big-endian message's buffer in place: give it a copy.
    theirs = point_cloud2.read_points(copy.deepcopy(msg), skip_nans=False)
    assert theirs.dtype.names == ours.dtype.names
    for name in ours.dtype.names:
        np.testing.assert_array_equal(np.asarray(theirs[name], dtype=np.float64), ours[name])


def test_row_padding_is_skipped():
    msg = _cloud(RADAR_LAYOUT, 43, row_padding=5)
    np.testing.assert_array_equal(pointcloud2_to_array(msg)["x"], [10.5, 42.0])


# --- radar driver presets and the zero-channel rule -----------------------------------------


def _fields_cloud(**columns: np.ndarray) -> PointCloud2:
    from lircdepth_ros.conversions import array_to_pointcloud2

    points = np.zeros(len(next(iter(columns.values()))), dtype=[(n, "f4") for n in columns])
    for name, values in columns.items():
        points[name] = values
    return array_to_pointcloud2(points)


def test_radial_speed_is_split_along_the_line_of_sight():
    xyz = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    msg = _fields_cloud(
        x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], RCS=[1, 2, 3], radial_speed=[10.0, 5.0, -1.0]
    )
    radar = radar_points_from_cloud(msg, PRESETS["smartmicro"])
    np.testing.assert_allclose(radar.features, [[1, 6, 8], [2, 0, 0], [3, 0, -1]])
    assert zero_channels({"x", "y", "z", "RCS", "radial_speed"}, PRESETS["smartmicro"]) == []


def test_ti_mmwave_reads_intensity_and_velocity():
    msg = _fields_cloud(x=[0.0], y=[5.0], z=[0.0], intensity=[12.0], velocity=[2.0])
    radar = radar_points_from_cloud(msg, PRESETS["ti_mmwave"])
    np.testing.assert_allclose(radar.features, [[12, 0, 2]])


def test_ars548_polar_coordinates_and_no_velocity():
    r, azimuth, elevation = 10.0, np.pi / 6, 0.1
    msg = _fields_cloud(range=[r], azimuth=[azimuth], elevation=[elevation], rcs=[-3.0])
    radar = radar_points_from_cloud(msg, PRESETS["ars548"])
    flat = r * np.cos(elevation)
    expected = [flat * np.cos(azimuth), flat * np.sin(azimuth), r * np.sin(elevation)]
    np.testing.assert_allclose(radar.xyz, [expected], rtol=1e-6)
    np.testing.assert_allclose(radar.features, [[-3, 0, 0]])
    assert zero_channels({"range", "azimuth", "elevation", "rcs"}, PRESETS["ars548"]) == [
        "vx",
        "vy",
    ]


def test_preset_overrides():
    assert preset_fields("nuscenes", {"vx": "vx_comp", "vy": "vy_comp"}) == RadarFieldNames(
        vx="vx_comp", vy="vy_comp"
    )
    smartmicro = preset_fields("smartmicro", {"vx": "v_x", "vy": "v_y", "rcs": ""})
    fields = (smartmicro.rcs, smartmicro.vx, smartmicro.vy, smartmicro.radial)
    assert fields == ("RCS", "v_x", "v_y", "")
    assert preset_fields("nuscenes", {"radial": "doppler"}).vx == ""
    with pytest.raises(ValueError, match="not one of"):
        preset_fields("velodyne", {})


def test_absent_channels_read_as_zero_counted_and_warned_once():
    """Issue 23 item 4: a TI layout with the default preset must not pass in silence."""
    counts: dict[str, int] = {}
    warnings: list[str] = []
    monitor = RadarChannelMonitor(
        PRESETS["nuscenes"],
        lambda key, n: counts.__setitem__(key, counts.get(key, 0) + n),
        warnings.append,
        topics={"radar": "/radar_front"},
    )
    msg = _fields_cloud(x=[1.0], y=[2.0], z=[0.0], intensity=[9.0], velocity=[3.0])
    for _ in range(3):
        assert monitor.check("radar", msg.fields) == ["rcs", "vx", "vy"]
    assert counts == {f"radar.channel_zero.{c}": 3 for c in ("rcs", "vx", "vy")}
    assert len(warnings) == 1
    assert "/radar_front" in warnings[0] and "radar.preset:=ti_mmwave" in warnings[0]
    assert radar_points_from_cloud(msg).features.tolist() == [[0.0, 0.0, 0.0]]
    assert (
        monitor.check("radar", _fields_cloud(x=[1], y=[1], z=[1], rcs=[1], vx=[1], vy=[1]).fields)
        == []
    )


def test_missing_coordinates_are_refused():
    with pytest.raises(MessageError, match="lacks coordinate") as error:
        check_radar_cloud(_fields_cloud(x=[1.0], y=[2.0], intensity=[1.0]))
    assert error.value.kind == "pointcloud2.missing_field"


# --- CompressedImage ------------------------------------------------------------------------


def _rgb(height: int = 90, width: int = 160) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.random((height, width, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_compressed_decodes_like_opencv(kind):
    rgb = _rgb()
    msg = compressed_image(rgb, kind=kind)
    assert compressed_size(msg) == (160, 90)
    decoded = to_rgb8(msg)
    reference = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded, reference[:, :, ::-1])
    if kind == "png":
        np.testing.assert_array_equal(decoded, rgb)


def test_compressed_format_variants_of_image_transport():
    msg = compressed_image(_rgb(), kind="png")
    msg.format = "rgb8; png compressed bgr8"
    check_image_message(msg)
    msg = compressed_image(_rgb())
    msg.format = "bgr8; jpeg compressed bgr8"
    assert compressed_to_rgb8(msg).shape == (90, 160, 3)


def _spoiled(change) -> CompressedImage:
    msg = compressed_image(_rgb())
    change(msg)
    return msg


def _body_garbage(msg):
    data = bytearray(msg.data)
    data[len(data) // 2 :] = b"\x00" * (len(data) - len(data) // 2)
    msg.data = to_uint8_array(bytes(data[: len(data) // 2 + 10]))


MALFORMED = {
    "unknown_format": (lambda m: setattr(m, "format", "h264"), "compressed_image.format"),
    "empty": (lambda m: setattr(m, "data", to_uint8_array(b"")), "compressed_image.header"),
    "not_a_jpeg": (
        lambda m: setattr(m, "data", to_uint8_array(b"hello" * 50)),
        "compressed_image.header",
    ),
    "truncated_header": (lambda m: setattr(m, "data", m.data[:40]), "compressed_image.header"),
    "truncated_body": (
        lambda m: setattr(m, "data", m.data[: len(m.data) // 2]),
        "compressed_image.decode",
    ),
    "png_named_jpeg": (lambda m: setattr(m, "format", "png"), "compressed_image.header"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_compressed_images_raise_a_kind(case):
    change, kind = MALFORMED[case]
    with pytest.raises(MessageError) as error:
        to_rgb8(_spoiled(change))
    assert error.value.kind == kind


def test_compressed_pixel_limit_from_the_header_before_decoding():
    msg = compressed_image(_rgb())
    check_image_message(msg, max_pixels=160 * 90)
    with pytest.raises(MessageError) as error:
        check_image_message(msg, max_pixels=160 * 90 - 1)
    assert error.value.kind == "compressed_image.too_large"


def test_image_transport_topic_rule():
    def resolve(topic: str) -> str:
        return "/remapped/cam" if topic == "image" else f"/ns/{topic}".replace("/ns//", "/")

    assert image_subscription("image", "raw", resolve) == (Image, "image")
    assert image_subscription("image", "compressed", resolve) == (
        CompressedImage,
        "/remapped/cam/compressed",
    )
    assert image_subscription("/CAM_FRONT/image_rect_compressed", "raw", resolve) == (
        CompressedImage,
        "/CAM_FRONT/image_rect_compressed",
    )
    assert image_subscription("/cam/image/compressed", "compressed", resolve) == (
        CompressedImage,
        "/cam/image/compressed",
    )


def test_silent_topic_explained_by_its_real_type():
    graph = [
        ("/x", ["sensor_msgs/msg/CompressedImage"]),
        ("/y/compressed", ["sensor_msgs/msg/CompressedImage"]),
        ("/z", ["sensor_msgs/msg/Image"]),
    ]
    published = dict(graph)
    graph.append(("/z/depth", ["sensor_msgs/msg/Image"]))  # the node's own output
    types = TopicTypes(lambda: graph, lambda topic: published.get(topic, []), lambda: {"/z/depth"})
    types.expect("/x", Image)
    types.expect("/y/image", Image)
    types.expect("/z", Image)
    assert "topic /x has type sensor_msgs/msg/CompressedImage" in types.explain("/x")
    assert "set transport:=compressed" in types.explain("/x")
    assert "CompressedImage topics next to it: /y/compressed" in types.explain("/y/image")
    assert types.explain("/z") is None  # right type: QoS or a quiet publisher
    types.expect("/y/image/compressed", CompressedImage)
    assert "/y/compressed" in types.explain("/y/image/compressed")
    graph.append(("/z/image_rect_compressed", ["sensor_msgs/msg/CompressedImage"]))  # ours
    types.expect("/z/image_rect_compressed", CompressedImage)  # the camera publishes raw
    hint = types.explain("/z/image_rect_compressed")
    assert "sensor_msgs/msg/Image topics next to it: /z:" in hint and "transport:=raw" in hint
    types.expect("/y/image_rect", Image)  # the bag holds compressed images
    assert "set transport:=compressed" in types.explain("/y/image_rect")


# --- TF: bounded extrapolation and time jumps --------------------------------------------


def _tf(parent: str, child: str, stamp: float, x: float, yaw: float = 0.0) -> TransformStamped:
    msg = TransformStamped()
    msg.header.frame_id, msg.child_frame_id = parent, child
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(round(stamp * 1e9)), 10**9)
    msg.transform.translation.x = x
    msg.transform.rotation.z, msg.transform.rotation.w = np.sin(yaw / 2), np.cos(yaw / 2)
    return msg


def _community_buffer() -> TfBuffer:
    """/tf only: map -> base_link moving 10 m/s along x, base_link -> CAM 1 m ahead, at 2 Hz."""
    buffer = TfBuffer()
    for stamp in (100.0, 100.5, 101.0):
        buffer.set_transform(_tf("map", "base_link", stamp, 10.0 * (stamp - 100.0)))
        buffer.set_transform(_tf("base_link", "CAM", stamp, 1.0))
    return buffer


def test_ego_pose_interpolated_and_extrapolated_within_the_window():
    transforms = BoundedTransforms(_community_buffer(), 0.5)
    for stamp, x in ((100.25, 3.5), (99.96, 0.6), (101.3, 14.0), (100.0, 1.0)):
        np.testing.assert_allclose(transforms.lookup("map", "CAM", stamp)[:3, 3], [x, 0, 0])
    with pytest.raises(TransformError, match="tf.extrapolation"):
        transforms.lookup("map", "CAM", 99.4)
    transforms.forward = False  # the node, while a pair may still wait for real TF
    with pytest.raises(TransformError):
        transforms.lookup("map", "CAM", 101.3)
    np.testing.assert_allclose(transforms.lookup("map", "CAM", 99.96)[:3, 3], [0.6, 0, 0])
    with pytest.raises(TransformError):
        BoundedTransforms(_community_buffer(), 0.0).lookup("map", "CAM", 99.96)
    # radar -> camera through the fixed frame at the two stamps
    buffer = _community_buffer()
    for stamp in (100.0, 100.5, 101.0):
        buffer.set_transform(_tf("base_link", "RADAR", stamp, 2.0))
    radar_to_camera = BoundedTransforms(buffer, 0.5).lookup_full(
        "CAM", 100.2, "RADAR", 100.1, "map"
    )
    np.testing.assert_allclose(radar_to_camera[:3, 3], [2.0 - 1.0 - 1.0, 0, 0], atol=1e-12)


def test_extrapolation_continues_a_turn():
    start, end = np.eye(4), np.eye(4)
    end[:3, :3] = cv2.Rodrigues(np.array([0.0, 0.0, 0.2]))[0]
    end[:3, 3] = [1.0, 0.1, 0.0]
    twice = extrapolate(start, end, 2.0)
    np.testing.assert_allclose(twice, end @ end, atol=1e-12)


def test_chain_bounds_and_tf2_table():
    links = {
        "base_link": ("map", (1.0, 3.0)),
        "CAM": ("base_link", (2.0, 4.0)),
        "R": ("base_link", None),
    }
    assert chain_bounds(links, "map", "CAM") == (2.0, 3.0)
    assert chain_bounds(links, "R", "base_link") is None  # static only
    assert chain_bounds(links, "map", "nowhere") is None
    table = "CAM: \n  parent: 'base_link'\n  most_recent_transform: 4.000000\n  oldest_transform: 2.000000\nR: \n  parent: 'base_link'\n  most_recent_transform: 0.000000\n  oldest_transform: 0.000000\n"
    parsed = tf2_links(table)
    assert parsed["R"] == ("base_link", None)
    assert parsed["CAM"][0] == "base_link" and 2.0 < parsed["CAM"][1][0] < 2.0001


def test_project_buffer_cleared_when_the_clock_jumps_back():
    import rclpy
    from rclpy.time import Time

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=next_domain())  # never the shared domain 0
    try:
        node = rclpy.create_node("jump_probe", context=context)
        clock = node.get_clock()
        buffer = _community_buffer()
        handle = clear_on_time_jump(node, buffer)
        clock._set_ros_time_is_active(True)  # use_sim_time: the clock changes source
        assert buffer.links() == {}
        clock.set_ros_time_override(Time(seconds=101))
        buffer = _community_buffer()
        handle.unregister()
        handle = clear_on_time_jump(node, buffer)
        clock.set_ros_time_override(Time(seconds=101.5))  # forward: kept
        assert buffer.links()
        clock.set_ros_time_override(Time(seconds=100))  # 1.5 s back: cleared
        assert buffer.links() == {}
        handle.unregister()
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def test_shipped_community_rig_file_reads_compressed_cameras():
    from pathlib import Path

    import yaml

    from lircdepth_ros.rig import RigTopics, rig_layout

    config = Path(__file__).resolve().parents[2] / "config"
    values = yaml.safe_load((config / "rig_nuscenes2bag.yaml").read_text())["/**"]
    params = values["ros__parameters"]
    layout = rig_layout(
        tuple(params["cameras"]), tuple(params["radars"]), RigTopics(**params["topics"])
    )
    assert len(layout.cameras) == 6 and len(layout.radars) == 5
    for camera in layout.cameras:
        assert image_subscription(camera.image, "raw", str) == (
            CompressedImage,
            f"/{camera.name}/image_rect_compressed",
        )
    assert params["frames"]["fixed"] == "map" and params["radar"]["preset"] in PRESETS


def test_compressed_transport_follows_the_remapped_base_topic():
    """image_transport's rule with rclpy's own resolution: remap `image`, read its /compressed."""
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=next_domain())  # never the shared domain 0
    try:
        node = rclpy.create_node(
            "transport_probe",
            namespace="/rig",
            context=context,
            cli_args=["--ros-args", "-r", "image:=/cam/image_raw"],
        )
        resolve = node.resolve_topic_name
        assert image_subscription("image", "compressed", resolve)[1] == "/cam/image_raw/compressed"
        assert image_subscription("left/image", "compressed", resolve)[1] == (
            "/rig/left/image/compressed"
        )
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


@pytest.mark.parametrize("name, value", [("transport", "jpeg"), ("radar.preset", "velodyne")])
def test_new_parameters_refuse_unknown_choices_naming_the_parameter(name, value, tmp_path):
    from lircdepth_ros.params import PARAMETERS, ParameterError, config_from_values

    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"")
    values = {key: default for key, (default, _, _) in PARAMETERS.items()}
    values["checkpoint"] = str(checkpoint)
    config = config_from_values(values)
    chosen = (config.image_transport, config.radar_preset, config.tf_extrapolation)
    assert chosen == ("raw", "nuscenes", 0.5)
    assert config.radar_fields == PRESETS["nuscenes"]
    with pytest.raises(ParameterError, match=f"'{name}'"):
        config_from_values({**values, name: value})
