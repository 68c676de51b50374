"""Test peer process talking to a live `lircdepth_node` over real DDS.

publish DATAROOT COUNT: static TF, then COUNT synthetic-world frames in lockstep (each
    frame waits for its depth, so the node never drops one as superseded).
subscribe OUT.npz COUNT TIMEOUT: saves the first COUNT depth images (stamp -> array).
bad DATAROOT OUT.json: sends each malformed input of `BAD_CASES`, waits until the node
    counts it in /diagnostics, then a good frame; writes counter deltas and the outcome.
flood WIDTH HEIGHT SECONDS [OUT.json]: best-effort images of that size at 12 Hz (transport
    tests); with OUT.json, also the node's /diagnostics statuses (level, message) seen.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from lircdepth_ros.conversions import image_to_numpy, numpy_to_image, xyz_to_pointcloud2
from lircdepth_ros.qos import latched_qos
from lircdepth_ros.synth_frames import RosFrame, load_frames
from lircdepth_ros.tf_buffer import stamp_to_seconds

MATCH_TIMEOUT = 60.0
ANSWER_TIMEOUT = 30.0
TF_DELAY = 0.3  # seconds; the live node waits up to tf.wait = 1.0 s for TF


def _set_stamp(msg, seconds: float):
    msg.header.stamp.sec, nanosec = divmod(int(round(seconds * 1e9)), 1_000_000_000)
    msg.header.stamp.nanosec = nanosec
    return msg


def _number_or_text(value: str) -> float | str:
    """Counters are numbers; the engine facts (backend, backend_reason, device) are text."""
    try:
        return float(value)
    except ValueError:
        return value


class Peer:
    """Publishers for the node's inputs and listeners for its depth and diagnostics."""

    def __init__(self, name: str) -> None:
        from tf2_msgs.msg import TFMessage

        self.node = rclpy.create_node(name)
        static_qos = latched_qos()
        self.tf_pub = self.node.create_publisher(TFMessage, "/tf_static", static_qos)
        self.info_pub = self.node.create_publisher(
            CameraInfo, "camera_info", qos_profile_sensor_data
        )
        self.image_pub = self.node.create_publisher(Image, "image", qos_profile_sensor_data)
        self.radar_pub = self.node.create_publisher(PointCloud2, "radar", qos_profile_sensor_data)
        self.depth_stamps: set[str] = set()
        self.diagnostics: dict[str, float | str] = {}
        self.node.create_subscription(
            Image, "depth", lambda m: self.depth_stamps.add(_key(m.header.stamp)), 10
        )
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.hardware_id == "lircdepth":
                self.diagnostics = {kv.key: _number_or_text(kv.value) for kv in status.values}

    def spin_until(self, done: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.05)
        return done()

    def wait_for_node(self, transforms) -> None:
        from tf2_msgs.msg import TFMessage

        self.tf_pub.publish(TFMessage(transforms=transforms))
        publishers = (self.info_pub, self.image_pub, self.radar_pub)
        matched = self.spin_until(
            lambda: min(p.get_subscription_count() for p in publishers) > 0 and self.diagnostics,
            MATCH_TIMEOUT,
        )
        if not matched:
            raise SystemExit("the node never subscribed / published diagnostics")

    def send(self, info: CameraInfo, image: Image | None, radar: PointCloud2 | None) -> None:
        self.info_pub.publish(info)
        if radar is not None:
            self.radar_pub.publish(radar)
        if image is not None:
            self.image_pub.publish(image)

    def send_and_await_depth(self, frame: RosFrame) -> bool:
        self.send(frame.camera_info, frame.image, frame.radar)
        return self.spin_until(
            lambda: _key(frame.image.header.stamp) in self.depth_stamps, ANSWER_TIMEOUT
        )


def _key(stamp) -> str:
    return f"{stamp_to_seconds(stamp):.6f}"


def publish(dataroot: str, count: int) -> None:
    frames, transforms = load_frames(dataroot, limit=count)
    peer = Peer("peer_publisher")
    peer.wait_for_node(transforms)
    answered = sum(peer.send_and_await_depth(frame) for frame in frames)
    print(f"answered {answered} of {len(frames)} frames")


def subscribe(out: str, count: int, timeout: float) -> None:
    node = rclpy.create_node("peer_subscriber")
    received: dict[str, np.ndarray] = {}
    node.create_subscription(
        Image, "depth", lambda m: received.setdefault(_key(m.header.stamp), image_to_numpy(m)), 10
    )
    end = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    np.savez(out, **received)


def _frame_at(frame: RosFrame, seconds: float) -> RosFrame:
    """A deep copy of `frame` with every header stamped `seconds`."""
    copied = copy.deepcopy(frame)
    for msg in (copied.image, copied.camera_info, copied.radar):
        _set_stamp(msg, seconds)
    return copied


def _cloud(frame: RosFrame, xyz: np.ndarray) -> PointCloud2:
    return xyz_to_pointcloud2(xyz, frame.radar.header)


def _half_size_image(frame: RosFrame) -> RosFrame:
    rgb = image_to_numpy(frame.image)
    small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2))
    frame.image = numpy_to_image(small, "rgb8", frame.image.header)
    return frame


def _non_finite_cloud(frame: RosFrame) -> RosFrame:
    xyz = np.array([[10.0, 0.0, 0.0], [np.nan, 1.0, 0.0], [np.inf, 0.0, 0.0], [20.0, 1.0, 0.0]])
    frame.radar = _cloud(frame, xyz)
    return frame


def _renamed_field(frame: RosFrame) -> RosFrame:
    frame.radar.fields[2].name = "height"
    return frame


def _truncated_image(frame: RosFrame) -> RosFrame:
    frame.image.data = frame.image.data[: len(frame.image.data) // 2]
    return frame


def _under_network_rows(frame: RosFrame) -> RosFrame:
    """16 rows: under the network's minimum of 32 (CameraInfo to match)."""
    rgb = image_to_numpy(frame.image)[:16]
    frame.image = numpy_to_image(rgb, "rgb8", frame.image.header)
    frame.camera_info.height = 16
    return frame


def _no_points(frame: RosFrame) -> RosFrame:
    frame.radar = _cloud(frame, np.zeros((0, 3)))
    return frame


def _radar_frame_without_tf(frame: RosFrame) -> RosFrame:
    frame.radar.header.frame_id = "RADAR_WITHOUT_TF"
    return frame


def _set(obj_name: str, field: str, value) -> Callable[[RosFrame], RosFrame]:
    def change(frame: RosFrame) -> RosFrame:
        setattr(getattr(frame, obj_name), field, value)
        return frame

    return change


def _radar_later(frame: RosFrame) -> RosFrame:
    _set_stamp(frame.radar, stamp_to_seconds(frame.radar.header.stamp) + 0.5)
    return frame


def _image_earlier(frame: RosFrame) -> RosFrame:
    _set_stamp(frame.image, stamp_to_seconds(frame.image.header.stamp) - 2.5)
    frame.radar = None  # only the image goes back in time (within the reset threshold)
    return frame


# case -> (how to spoil a good frame, the diagnostics counter that must grow)
BAD_CASES: dict[str, tuple[Callable[[RosFrame], RosFrame], str]] = {
    "wrong_encoding": (_set("image", "encoding", "yuv422"), "rejected.image.encoding"),
    "size_not_matching_camera_info": (_half_size_image, "rejected.image.camera_info_mismatch"),
    "truncated_image": (_truncated_image, "rejected.image.data_length"),
    "image_under_network_rows": (_under_network_rows, "rejected.image.too_small"),
    "cloud_missing_field": (_renamed_field, "rejected.pointcloud2.missing_field"),
    "cloud_wrong_point_step": (_set("radar", "point_step", 4), "rejected.pointcloud2.point_step"),
    "non_finite_points": (_non_finite_cloud, "bad.radar_non_finite_points"),
    "zero_points": (_no_points, "bad.radar_empty"),
    "stamps_far_apart": (_radar_later, "dropped.unmatched_beyond_slop"),
    "stamps_backwards": (_image_earlier, "bad.stamps_backwards"),
    "missing_tf": (_radar_frame_without_tf, "tf_failures"),
}


def send_with_late_tf(peer: Peer, frame: RosFrame, transforms) -> bool:
    """Send a pair whose radar frame is known to TF only TF_DELAY after the pair arrived
    (TF trailing the data); True when the node still answers it."""
    from tf2_msgs.msg import TFMessage

    radar_frame = frame.radar.header.frame_id
    (late,) = [copy.deepcopy(t) for t in transforms if t.child_frame_id == radar_frame]
    late.child_frame_id = frame.radar.header.frame_id = f"{radar_frame}_LATE"
    peer.send(frame.camera_info, frame.image, frame.radar)
    peer.spin_until(lambda: False, TF_DELAY)
    peer.tf_pub.publish(TFMessage(transforms=[late]))
    return peer.spin_until(
        lambda: _key(frame.image.header.stamp) in peer.depth_stamps, ANSWER_TIMEOUT
    )


def bad(dataroot: str, out: str) -> None:
    frames, transforms = load_frames(dataroot, limit=1)
    peer = Peer("peer_bad_input")
    peer.wait_for_node(transforms)
    base = stamp_to_seconds(frames[0].image.header.stamp) + 1000.0
    results: dict[str, dict] = {}
    for index, (case, (spoil, counter)) in enumerate(BAD_CASES.items()):
        frame = spoil(_frame_at(frames[0], base + 2.0 * index))
        before = peer.diagnostics.get(counter, 0.0)
        peer.send(frame.camera_info, frame.image, frame.radar)
        counted = peer.spin_until(
            lambda key=counter, old=before: peer.diagnostics.get(key, 0.0) > old, 20.0
        )
        results[case] = {"counter": counter, "before": before, "counted": counted}
    late = _frame_at(frames[0], base + 2.0 * len(BAD_CASES))
    results["late_tf"] = {"answered": send_with_late_tf(peer, late, transforms)}
    good = _frame_at(frames[0], base + 2.0 * (len(BAD_CASES) + 1))
    results["good_frame_after"] = {"answered": peer.send_and_await_depth(good)}
    results["diagnostics"] = peer.diagnostics
    with open(out, "w") as file:
        json.dump(results, file, indent=1)


def flood(width: int, height: int, seconds: float, out: str | None = None) -> None:
    peer = Peer("peer_flood")
    statuses: list[dict] = []

    def record(msg: DiagnosticArray) -> None:
        statuses.extend(
            {"level": int.from_bytes(s.level, "little"), "message": s.message}
            for s in msg.status
            if s.hardware_id == "lircdepth"
        )

    peer.node.create_subscription(DiagnosticArray, "/diagnostics", record, 10)
    image = numpy_to_image(np.zeros((height, width, 3), np.uint8), "rgb8")
    image.header.frame_id = "CAM_FRONT"
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        peer.image_pub.publish(_set_stamp(image, time.time()))
        rclpy.spin_once(peer.node, timeout_sec=1 / 12)
    if out:
        with open(out, "w") as file:
            json.dump(statuses, file, indent=1)


if __name__ == "__main__":
    rclpy.init()
    mode, *rest = sys.argv[1:]
    if mode == "publish":
        publish(rest[0], int(rest[1]))
    elif mode == "subscribe":
        subscribe(rest[0], int(rest[1]), float(rest[2]))
    elif mode == "bad":
        bad(rest[0], rest[1])
    else:
        flood(int(rest[0]), int(rest[1]), float(rest[2]), *rest[3:])
    rclpy.shutdown()
