"""Test peer: feeds a live `lircdepth_node` what a community nuScenes bag holds, under
`use_sim_time` with `/clock`, and records what comes back.

run DATAROOT COUNT OUT_DIR:
  1. loop 1: COUNT keyframes in lockstep: /clock at the image stamp, the keyframe's /tf
     message (no /tf_static), CameraInfo, the packed 43-byte radar cloud, the JPEG
     CompressedImage; the first keyframe's /tf is sent only TF_DELAY after its image and
     radar (TF trailing the data at start-up);
  2. loop 2: /clock jumps back to the first stamp (a looping bag) and the same keyframes
     are sent again;
  3. one frame whose radar cloud has a TI mmWave layout (x y z intensity velocity) while
     the node keeps its default radar preset; waits until /diagnostics counts it;
  4. malformed JPEGs (a body cut short behind a good header; bytes with no header): each
     must be counted as a rejected input, and a good frame after them answered.
Writes OUT_DIR/depth.npz (loop1_<stamp>, loop2_<stamp>) and OUT_DIR/results.json.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from tf2_msgs.msg import TFMessage

from lircdepth_ros.conversions import image_to_numpy, xyz_to_pointcloud2
from lircdepth_ros.synth_community import CAMERA, RADAR, CommunityFrame, load_community_frames
from lircdepth_ros.tf_buffer import stamp_to_seconds

MATCH_TIMEOUT = 60.0
ANSWER_TIMEOUT = 30.0
TF_DELAY = 0.3  # the node waits tf.wait = 1.0 s for TF
CLOCK_SETTLE = 0.3  # seconds for the node to see a /clock jump before the next data


def _key(stamp) -> str:
    return f"{stamp_to_seconds(stamp):.6f}"


class CommunityPeer:
    def __init__(self) -> None:
        self.node = rclpy.create_node("community_peer")
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.clock_pub = self.node.create_publisher(Clock, "/clock", 10)
        self.tf_pub = self.node.create_publisher(TFMessage, "/tf", reliable)
        sensor = qos_profile_sensor_data
        self.image_pub = self.node.create_publisher(
            CompressedImage, f"/{CAMERA}/image_rect_compressed", sensor
        )
        self.info_pub = self.node.create_publisher(CameraInfo, f"/{CAMERA}/camera_info", sensor)
        self.radar_pub = self.node.create_publisher(PointCloud2, f"/{RADAR}", sensor)
        # CAM_BACK publishes raw images next to the compressed topic the node reads.
        self.raw_back_pub = self.node.create_publisher(Image, "/CAM_BACK/image_rect", sensor)
        self.depth: dict[str, np.ndarray] = {}
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(Image, f"/{CAMERA}/depth", self._on_depth, 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_depth(self, msg: Image) -> None:
        self.depth[_key(msg.header.stamp)] = image_to_numpy(msg)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.hardware_id == "lircdepth":
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def spin_until(self, done, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.05)
        return done()

    def clock(self, stamp) -> None:
        self.clock_pub.publish(Clock(clock=stamp))

    def wait_for_node(self) -> None:
        publishers = (self.image_pub, self.info_pub, self.radar_pub, self.tf_pub, self.clock_pub)
        if not self.spin_until(
            lambda: min(p.get_subscription_count() for p in publishers) > 0 and self.diagnostics,
            MATCH_TIMEOUT,
        ):
            raise SystemExit("the node never subscribed / published diagnostics")

    def send(self, frame: CommunityFrame, tf_late: bool = False) -> bool:
        """One keyframe; True when its depth came back."""
        self.depth.pop(_key(frame.image.header.stamp), None)
        self.clock(frame.image.header.stamp)
        if not tf_late:
            self.tf_pub.publish(TFMessage(transforms=frame.tf))
        self.info_pub.publish(frame.camera_info)
        self.radar_pub.publish(frame.radar)
        self.image_pub.publish(frame.image)
        if tf_late:
            self.spin_until(lambda: False, TF_DELAY)
            self.tf_pub.publish(TFMessage(transforms=frame.tf))
        key = _key(frame.image.header.stamp)
        return self.spin_until(lambda: key in self.depth, ANSWER_TIMEOUT)


def ti_mmwave_cloud(frame: CommunityFrame) -> PointCloud2:
    """The frame's radar points as a TI mmWave driver publishes them."""
    from lircdepth_ros.conversions import pointcloud2_to_array

    points = pointcloud2_to_array(frame.radar)
    xyz = np.column_stack([points["x"], points["y"], points["z"]])
    return xyz_to_pointcloud2(
        xyz, frame.radar.header, intensity=points["rcs"], velocity=points["vx"]
    )


def _shift(msg, seconds: float) -> None:
    total = int(round(stamp_to_seconds(msg.header.stamp) * 1e9 + seconds * 1e9))
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(total, 1_000_000_000)


def send_malformed(peer: CommunityPeer, frame: CommunityFrame) -> dict[str, bool]:
    """Each malformed image once, paired with a radar sweep; True when its counter grew."""
    from lircdepth_ros.conversions import to_uint8_array

    jpeg = bytes(frame.image.data)
    cases = {
        "rejected.compressed_image.decode": jpeg[: len(jpeg) // 3],
        "rejected.compressed_image.header": b"not an image" * 20,
    }
    counted = {}
    for index, (key, data) in enumerate(cases.items()):
        bad = copy.deepcopy(frame)
        for msg in (bad.image, bad.camera_info, bad.radar):
            _shift(msg, 0.01 * (index + 1))
        bad.image.data = to_uint8_array(data)
        before = float(peer.diagnostics.get(key, 0.0))
        peer.clock(bad.image.header.stamp)
        peer.info_pub.publish(bad.camera_info)
        peer.radar_pub.publish(bad.radar)
        peer.image_pub.publish(bad.image)
        counted[key] = peer.spin_until(
            lambda k=key, old=before: float(peer.diagnostics.get(k, 0.0)) > old, 20.0
        )
    return counted


def run(dataroot: str, count: int, out_dir: str) -> None:
    out = Path(out_dir)
    frames = load_community_frames(dataroot, limit=count)
    peer = CommunityPeer()
    peer.clock(frames[0].image.header.stamp)
    peer.wait_for_node()
    results: dict[str, object] = {}
    loops: dict[str, np.ndarray] = {}
    for loop in ("loop1", "loop2"):
        if loop == "loop2":  # the bag starts again: time jumps back
            peer.clock(frames[0].image.header.stamp)
            peer.spin_until(lambda: False, CLOCK_SETTLE)
        answered = []
        for index, frame in enumerate(frames):
            ok = peer.send(frame, tf_late=(loop == "loop1" and index == 0))
            answered.append(ok)
            if ok:
                loops[f"{loop}_{_key(frame.image.header.stamp)}"] = peer.depth[
                    _key(frame.image.header.stamp)
                ]
        results[loop] = answered
    last = frames[-1]
    before = float(peer.diagnostics.get("radar.channel_zero.rcs", 0.0))
    last.radar = ti_mmwave_cloud(last)
    results["ti_answered"] = peer.send(last)
    results["ti_counted"] = peer.spin_until(
        lambda: float(peer.diagnostics.get("radar.channel_zero.rcs", 0.0)) > before, 20.0
    )
    results["malformed"] = send_malformed(peer, last)
    good = copy.deepcopy(last)
    for msg in (good.image, good.camera_info, good.radar):
        _shift(msg, 0.04)
    results["good_after_malformed"] = peer.send(good)
    results["diagnostics"] = peer.diagnostics
    np.savez(out / "depth.npz", **loops)
    (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    rclpy.init()
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    rclpy.shutdown()
