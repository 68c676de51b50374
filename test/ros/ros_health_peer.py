"""Test peer: a single-camera `lircdepth_node` whose inputs arrive and still give no depth.

    ros_health_peer.py DATAROOT OUT.json

Sends frames at 5 Hz through four phases, in this order (each relies on the one before):
`no_camera_info` (image + radar, never a CameraInfo, no TF yet), `refused` (yuv422 images,
with CameraInfo), `no_tf` (good frames, still no /tf_static) and `good` (the transforms
published: depth must come and the status turn OK), then writes OUT.json and goes on
sending good frames (`tail`) until stopped. Between `good` and `tail`: `radar_silent` (no
radar: camera-only depth), `radar_silent_stop` (`degraded.mode` set to stop) and
`no_listener` (the peer's depth subscriptions gone: the lazy node must not work). Records every /diagnostics status of the
node's (hardware_id `lircdepth`) with the phase it arrived in, and the depth that came (its
frame_id, that of depth/camera_info, its least value). The images' frame_id is
`camera_link`, a frame TF does not know: the node runs with `frames.camera:=CAM_FRONT`.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from ros_peer import Peer, _set_stamp
from ros_rig_peer import _scaled
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage

from lircdepth_ros.conversions import image_to_numpy
from lircdepth_ros.synth_frames import load_frames
from lircdepth_ros.tf_buffer import stamp_to_seconds

RATE_HZ = 5.0
PHASE_SECONDS = 3.5
GOOD_TIMEOUT = 60.0
MATCH_TIMEOUT = 60.0
TAIL_SECONDS = 60.0
PHASES = ("no_camera_info", "refused", "no_tf", "good")


def _level(status) -> int:
    level = status.level
    return int.from_bytes(level, "little") if isinstance(level, bytes) else int(level)


class HealthPeer(Peer):
    def __init__(self) -> None:
        super().__init__("peer_health")
        self.phase = "start"
        self.records: list[dict] = []
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._record, 10)
        self.depths: list[dict] = []
        self.info_frames: set[str] = set()
        self.node.create_subscription(Image, "depth", self._on_depth, 10)
        self.node.create_subscription(
            CameraInfo, "depth/camera_info", lambda m: self.info_frames.add(m.header.frame_id), 10
        )

    def _on_depth(self, msg: Image) -> None:
        depth = image_to_numpy(msg)
        self.depths.append(
            {
                "phase": self.phase,
                "frame_id": msg.header.frame_id,
                "min": float(np.nanmin(depth)),
                "all_finite": bool(np.isfinite(depth).all()),
            }
        )

    def _record(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.hardware_id != "lircdepth":
                continue
            values = {kv.key: kv.value for kv in status.values}
            self.records.append(
                {
                    "phase": self.phase,
                    "level": _level(status),
                    "message": status.message,
                    "published": float(values.get("published", 0)),
                    "camera_info_missing": float(values.get("rejected.camera_info.missing", 0)),
                    "no_subscriber": float(values.get("skipped.no_subscriber", 0)),
                    "camera_only": float(values.get("degraded.camera_only_frames", 0)),
                }
            )

    def wait_matched(self) -> None:
        publishers = (self.info_pub, self.image_pub, self.radar_pub)
        if not self.spin_until(
            lambda: min(p.get_subscription_count() for p in publishers) > 0 and self.records,
            MATCH_TIMEOUT,
        ):
            raise SystemExit("the node never subscribed / published diagnostics")

    def run(self, phase: str, frame, stamp: float, seconds: float, done=None) -> float:
        """Send `frame` restamped at RATE_HZ for `seconds` (or until `done()`)."""
        self.phase = phase
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (done and done()):
            image = _set_stamp(copy.deepcopy(frame["image"]), stamp)
            radar = _set_stamp(copy.deepcopy(frame["radar"]), stamp)
            info = frame["info"] and _set_stamp(copy.deepcopy(frame["info"]), stamp)
            if info is not None:
                self.info_pub.publish(info)
            if frame.get("radar_on", True):
                self.radar_pub.publish(radar)
            self.image_pub.publish(image)
            stamp += 1.0 / RATE_HZ
            self.spin_until(lambda: False, 1.0 / RATE_HZ)
        return stamp

    def set_parameter(self, name: str, value) -> bool:
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        client = self.node.create_client(SetParameters, "/lircdepth_node/set_parameters")
        if not client.wait_for_service(timeout_sec=20):
            return False
        future = client.call_async(
            SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        )
        self.spin_until(future.done, 20)
        return future.done() and future.result().results[0].successful

    def drop_depth_subscriptions(self) -> None:
        for subscription in list(self.node.subscriptions):
            if subscription.topic_name.startswith("/depth"):
                self.node.destroy_subscription(subscription)


def main(dataroot: str, out: str) -> None:
    frames, transforms = load_frames(dataroot, limit=1)
    image, info = _scaled(frames[0].image, frames[0].camera_info)
    image.header.frame_id = info.header.frame_id = "camera_link"
    good = {"image": image, "info": info, "radar": frames[0].radar}
    yuv = copy.deepcopy(image)
    yuv.encoding = "yuv422"
    yuv.step = image.width * 2
    yuv.data = bytes(image.width * image.height * 2)
    peer = HealthPeer()
    peer.wait_matched()
    stamp = stamp_to_seconds(image.header.stamp) + 100.0
    stamp = peer.run("no_camera_info", {**good, "info": None}, stamp, PHASE_SECONDS)
    stamp = peer.run("refused", {**good, "image": yuv}, stamp, PHASE_SECONDS)
    stamp = peer.run("no_tf", good, stamp, PHASE_SECONDS)
    peer.tf_pub.publish(TFMessage(transforms=transforms))
    ok = {"seen": False}

    def answered_and_ok() -> bool:
        ok["seen"] = ok["seen"] or any(
            r["phase"] == "good" and r["level"] == 0 and r["published"] > 0 for r in peer.records
        )
        return ok["seen"]

    stamp = peer.run("good", good, stamp, GOOD_TIMEOUT, done=answered_and_ok)
    peer.phase = "settle"
    peer.spin_until(lambda: False, 1.0)
    stamp = peer.run("radar_silent", {**good, "radar_on": False}, stamp, PHASE_SECONDS)
    assert peer.set_parameter("degraded.mode", "stop")
    stamp = peer.run("radar_silent_stop", {**good, "radar_on": False}, stamp, PHASE_SECONDS)
    assert peer.set_parameter("degraded.mode", "camera_only")
    peer.drop_depth_subscriptions()
    stamp = peer.run("no_listener", good, stamp, PHASE_SECONDS)
    peer.node.create_subscription(Image, "depth", peer._on_depth, 10)
    partial = f"{out}.tmp"
    with open(partial, "w") as file:
        json.dump(
            {
                "records": peer.records,
                "depths": peer.depths,
                "info_frames": sorted(peer.info_frames),
            },
            file,
            indent=1,
        )
    os.replace(partial, out)
    # Frames go on, so the test's Ctrl-C of the node lands during a forward.
    peer.phase = "tail"
    peer.run("tail", good, stamp, TAIL_SECONDS)


if __name__ == "__main__":
    rclpy.init()
    main(sys.argv[1], sys.argv[2])
    rclpy.shutdown()
