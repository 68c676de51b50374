"""Fuzz peer: feeds a live `lircdepth_node` every kind of malformed input from its own process.

fuzz DATAROOT NODE_PID OUT.json: two good frames (warm-up), then each case of `CASES`
(each variant sent back to back, waiting until the node's /diagnostics counter for the case
has grown by the number of sends; a round the middleware lost a message of is sent again),
then a good frame; writes per case the counter growth and seconds taken, the node's
VmRSS/VmHWM (from /proc/NODE_PID/status) around the oversized inputs, whether a truncated
serialised CameraInfo reached the node, and whether the good frame after all of it got its
depth.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import rclpy
from rclpy.serialization import serialize_message
from ros_peer import Peer, _frame_at, _set_stamp

from lircdepth_ros.conversions import (
    array_to_pointcloud2,
    numpy_to_image,
    pointcloud2_to_array,
    to_uint8_array,
    xyz_to_pointcloud2,
)
from lircdepth_ros.synth_frames import RosFrame, load_frames
from lircdepth_ros.tf_buffer import stamp_to_seconds

COUNT_TIMEOUT = 20.0
LOST_ROUND_RETRIES = 2
ROUND_SECONDS = 0.6  # a retried round's stamps: after the last, before the next case's
SETTLE_SECONDS = 0.4  # two diagnostics periods of the test node
BIG_IMAGE = (3000, 4000)  # rows, columns: 12 Mpixel, twice limits.max_image_pixels
BIG_CLOUD_POINTS = 200_000
INT32_MAX = 2**31 - 1

Spoil = Callable[[RosFrame], RosFrame]


def _changed(part: str, **fields) -> Spoil:
    """Set fields of the frame's image or radar message."""

    def spoil(frame: RosFrame) -> RosFrame:
        for name, value in fields.items():
            setattr(getattr(frame, part), name, value)
        return frame

    return spoil


_image = partial(_changed, "image")
_radar = partial(_changed, "radar")


def _radar_data(cut: int = 0, extra: int = 0) -> Spoil:
    def spoil(frame: RosFrame) -> RosFrame:
        data = bytes(frame.radar.data)
        frame.radar.data = to_uint8_array(data[: len(data) - cut] + bytes(extra))
        return frame

    return spoil


def _image_data(cut: int) -> Spoil:
    def spoil(frame: RosFrame) -> RosFrame:
        frame.image.data = frame.image.data[: len(frame.image.data) - cut]
        return frame

    return spoil


def _field(index: int, **fields) -> Spoil:
    def spoil(frame: RosFrame) -> RosFrame:
        for name, value in fields.items():
            setattr(frame.radar.fields[index], name, value)
        return frame

    return spoil


def _camera_k(value: float) -> Spoil:
    def spoil(frame: RosFrame) -> RosFrame:
        frame.camera_info.k = np.full(9, value)
        return frame

    return spoil


def _points(xyz: np.ndarray) -> Spoil:
    def spoil(frame: RosFrame) -> RosFrame:
        frame.radar = xyz_to_pointcloud2(xyz, frame.radar.header)
        return frame

    return spoil


def _padded_rows_without_data(frame: RosFrame) -> RosFrame:
    """`step` says 4 bytes of padding per row that `data` does not have."""
    frame.image.step += 4
    return frame


def _reshaped_image(frame: RosFrame) -> RosFrame:
    """Half as wide and twice as high, same bytes: valid alone, but not the CameraInfo's size."""
    image = frame.image
    image.width, image.height, image.step = image.width // 2, image.height * 2, image.step // 2
    return frame


def _nan_depth_image(frame: RosFrame) -> RosFrame:
    depth = np.full((frame.image.height, frame.image.width), np.nan, np.float32)
    depth[0, 0] = np.inf
    frame.image = numpy_to_image(depth, "32FC1", frame.image.header)
    return frame


def _big_image(frame: RosFrame) -> RosFrame:
    """A real 4000 x 3000 rgb8 image and a CameraInfo that agrees with it."""
    rows, columns = BIG_IMAGE
    k = np.array(frame.camera_info.k)
    k[:6] *= columns / frame.image.width
    frame.image = numpy_to_image(np.zeros((rows, columns, 3), np.uint8), "rgb8", frame.image.header)
    frame.camera_info.height, frame.camera_info.width, frame.camera_info.k = rows, columns, k
    return frame


def _big_cloud(frame: RosFrame) -> RosFrame:
    xyz = np.random.default_rng(0).uniform(1, 50, (BIG_CLOUD_POINTS, 3))
    return _points(xyz)(frame)


def _big_endian_cloud(frame: RosFrame) -> RosFrame:
    """A correctly encoded big-endian cloud: the node must read the same points."""
    points = pointcloud2_to_array(frame.radar)
    big = points.astype(points.dtype.newbyteorder(">"))
    frame.radar.is_bigendian = True
    frame.radar.data = to_uint8_array(big.view(np.uint8))
    return frame


def _only_xyz(frame: RosFrame) -> RosFrame:
    xyz = np.column_stack([pointcloud2_to_array(frame.radar)[n] for n in "xyz"])
    return _points(xyz)(frame)


def _image_back_in_time(frame: RosFrame) -> RosFrame:
    """The image 0.5 s before the previous one (jitter, not a restart); no radar."""
    _set_stamp(frame.image, stamp_to_seconds(frame.image.header.stamp) - 2.5)
    frame.radar = None
    return frame


def _stamped(seconds: float) -> Spoil:
    def spoil(frame: RosFrame) -> RosFrame:
        for msg in (frame.image, frame.camera_info, frame.radar):
            _set_stamp(msg, seconds)
        return frame

    return spoil


def _unchanged(frame: RosFrame) -> RosFrame:
    return frame


def _without_tf(frame: RosFrame) -> RosFrame:
    frame.radar.header.frame_id = "RADAR_WITHOUT_TF"
    return frame


def _organised_cloud_wrong_row_step(frame: RosFrame) -> RosFrame:
    points = pointcloud2_to_array(frame.radar)
    rows = 2
    frame.radar = array_to_pointcloud2(
        points[: len(points) // rows * rows], frame.radar.header, rows
    )
    frame.radar.row_step -= 1
    return frame


# case -> (variants sent back to back, counter that must grow by one per send unless
# EXPECTED_GROWTH says otherwise); rejections are sent at least twice (log throttling)
CASES: dict[str, tuple[list[Spoil], str]] = {
    "image_too_large_4000x3000": ([_big_image], "rejected.image.too_large"),
    "image_claims_10g_pixels": (
        [_image(width=100_000, height=100_000, step=300_000)] * 2,
        "rejected.image.too_large",
    ),
    "cloud_200k_points": ([_big_cloud] * 2, "rejected.pointcloud2.too_many_points"),
    "cloud_claims_2g_points": (
        [_radar(width=INT32_MAX)] * 2,
        "rejected.pointcloud2.too_many_points",
    ),
    "image_encoding": (
        [_image(encoding="yuv422"), _image(encoding="bayer_rggb8"), _nan_depth_image],
        "rejected.image.encoding",
    ),
    "image_step_too_small": ([_image(step=5)] * 2, "rejected.image.step"),
    "image_data_length": (
        [_image_data(1), _image_data(10_000), _padded_rows_without_data],
        "rejected.image.data_length",
    ),
    "image_0x0": (
        [_image(width=0, height=0, step=0, data=to_uint8_array(b""))] * 2,
        "rejected.image.size",
    ),
    "image_size_not_camera_info": ([_reshaped_image], "rejected.image.camera_info_mismatch"),
    "cloud_point_step": (
        [_radar(point_step=4), _radar(point_step=0)],
        "rejected.pointcloud2.point_step",
    ),
    "cloud_data_length": (
        [_radar_data(cut=1), _radar_data(extra=24), _radar(row_step=10_000)],
        "rejected.pointcloud2.data_length",
    ),
    "cloud_row_step": ([_organised_cloud_wrong_row_step] * 2, "rejected.pointcloud2.row_step"),
    "cloud_missing_xyz": (
        [_field(2, name="height"), _field(0, name="")],
        "rejected.pointcloud2.missing_field",
    ),
    "cloud_fields": (
        [_radar(fields=[]), _field(1, datatype=99), _field(0, count=3)],
        "rejected.pointcloud2.fields",
    ),
    "camera_info_k": ([_camera_k(0.0), _camera_k(np.nan)], "rejected.camera_info.k"),
    "cloud_non_finite": (
        [_points(np.array([[10.0, 0, 0], [np.nan, 1, 0], [np.inf, 0, 0], [-np.inf, 0, 1]]))],
        "bad.radar_non_finite_points",
    ),
    "cloud_0_points": ([_points(np.zeros((0, 3)))], "bad.radar_empty"),
    "cloud_big_endian": ([_big_endian_cloud], "published"),
    "image_big_endian_flag": ([_image(is_bigendian=1)], "published"),
    "cloud_without_features": ([_only_xyz], "published"),
    "stamps_out_of_order": ([_image_back_in_time], "bad.stamps_backwards"),
    "stamps_far_future": ([_stamped(INT32_MAX - 10.0), _unchanged], "time_resets"),
    "stamps_far_past": ([_stamped(-INT32_MAX + 10.0)], "time_resets"),
    "radar_frame_without_tf": ([_without_tf], "tf_failures"),
}
EXPECTED_GROWTH = {
    "cloud_non_finite": 3,
    "stamps_far_future": 1,
}


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in kB."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


def _transport_lost(peer: Peer) -> float:
    return sum(v for k, v in peer.diagnostics.items() if k.startswith("dropped.transport_lost."))


def _lost_in_transport(peer: Peer, good: RosFrame, stamp: float, lost_before: float) -> bool:
    """Did the middleware lose a message of the round? Best effort only notices a gap when
    the next message arrives, so a good frame goes after it first."""
    peer.send_and_await_depth(_frame_at(good, stamp))
    peer.spin_until(lambda: False, SETTLE_SECONDS)
    return _transport_lost(peer) > lost_before


def _run_round(
    peer: Peer, good: RosFrame, stamp: float, variants: list[Spoil], key: str, expected: int
) -> dict:
    before = peer.diagnostics.get(key, 0.0)
    started = time.monotonic()
    for index, spoil in enumerate(variants):
        frame = spoil(_frame_at(good, stamp + 0.1 * index))
        peer.send(frame.camera_info, frame.image, frame.radar)
    wanted = before + expected
    counted = peer.spin_until(lambda: peer.diagnostics.get(key, 0.0) >= wanted, COUNT_TIMEOUT)
    seconds = time.monotonic() - started
    peer.spin_until(lambda: False, SETTLE_SECONDS)  # would a send be counted twice?
    return {
        "key": key,
        "sends": len(variants),
        "growth": peer.diagnostics.get(key, 0.0) - before,
        "expected": expected,
        "counted": counted,
        "seconds": seconds,
    }


def _run_case(
    peer: Peer, good: RosFrame, stamp: float, variants: list[Spoil], key: str, expected: int
) -> dict:
    """One round of the case; a round the middleware lost a message of (best effort: a
    36 MB image on a loaded machine) says nothing about the node and is sent again."""
    voided = 0
    while True:
        lost_before = _transport_lost(peer)
        result = _run_round(peer, good, stamp, variants, key, expected)
        if result["counted"] or voided == LOST_ROUND_RETRIES:
            break
        if not _lost_in_transport(peer, good, stamp + ROUND_SECONDS / 2, lost_before):
            break
        voided += 1
        stamp += ROUND_SECONDS
    return result | {"rounds_lost_in_transport": voided}


def _truncated_camera_info_reaches_node(peer: Peer, good: RosFrame) -> bool:
    """A serialised CameraInfo cut inside K (a short K on the wire): the middleware drops it."""
    before = peer.diagnostics.get("received.camera_info", 0.0)
    data = serialize_message(good.camera_info)
    for cut in (len(data) // 2, 60, 8):
        peer.info_pub.publish(data[:cut])
    peer.spin_until(lambda: False, 1.5)
    return peer.diagnostics.get("received.camera_info", 0.0) > before


def fuzz(dataroot: str, pid: int, out: str) -> None:
    frames, transforms = load_frames(dataroot, limit=1)
    good = frames[0]
    peer = Peer("peer_fuzz")
    peer.wait_for_node(transforms)
    base = stamp_to_seconds(good.image.header.stamp) + 1000.0
    results: dict[str, dict] = {"warm_up": {}}
    for k in range(2):
        results["warm_up"][str(k)] = peer.send_and_await_depth(_frame_at(good, base + k))
    results["memory_before"] = _memory(pid)
    for index, (case, (variants, key)) in enumerate(CASES.items()):
        expected = EXPECTED_GROWTH.get(case, len(variants))
        results[case] = _run_case(peer, good, base + 10.0 + 2.0 * index, variants, key, expected)
        if index == 3:  # after the oversized inputs
            results["memory_after_big"] = _memory(pid)
    results["truncated_camera_info_received"] = _truncated_camera_info_reaches_node(peer, good)
    after = _frame_at(good, base + 20.0 + 2.0 * len(CASES))
    results["good_frame_after"] = {"answered": peer.send_and_await_depth(after)}
    results["memory_end"] = _memory(pid)
    results["diagnostics"] = peer.diagnostics
    with open(out, "w") as file:
        json.dump(results, file, indent=1)


if __name__ == "__main__":
    rclpy.init()
    fuzz(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    rclpy.shutdown()
