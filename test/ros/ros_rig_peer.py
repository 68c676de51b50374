"""Test peer for a surround-rig `lircdepth_node`: six cameras and two radars over real DDS.

    ros_rig_peer.py DATAROOT OUT FRAMES

The rig is built from the synthetic world's CAM_FRONT frame: six cameras with CAM_FRONT's
mounting turned about base_link's z axis (0, +-60, +-120, 180 degrees), all showing the same
image (at a quarter of its size: six forwards on a shared CPU), and two radars: RADAR_FRONT as recorded and RADAR_BACK, its mounting
turned by 180 degrees, sending the same sweep. So RADAR_BACK must land in CAM_BACK exactly
where RADAR_FRONT lands in CAM_FRONT, and never in CAM_FRONT.

Phase `faults`: CAM_BACK_LEFT never gets a CameraInfo and CAM_BACK_RIGHT's images name a
frame TF does not know; the four others must be answered for every frame. Phase `all`:
every camera is complete and must be answered. Writes OUT.json (answers per camera,
per-camera diagnostics after each phase, every status of phase `faults`) and OUT.npz (one depth per camera of phase `all`).
"""

from __future__ import annotations

import copy
import json
import sys
import time

import cv2
import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from tf2_msgs.msg import TFMessage

from lircdepth_ros.conversions import image_to_numpy, numpy_to_image
from lircdepth_ros.qos import latched_qos
from lircdepth_ros.synth_frames import CAMERA, RADAR, load_frames
from lircdepth_ros.tf_buffer import stamp_to_seconds

CAMERA_YAW = {
    "CAM_FRONT": 0.0,
    "CAM_FRONT_LEFT": 60.0,
    "CAM_BACK_LEFT": 120.0,
    "CAM_BACK": 180.0,
    "CAM_BACK_RIGHT": -120.0,
    "CAM_FRONT_RIGHT": -60.0,
}
RADAR_YAW = {"RADAR_FRONT": 0.0, "RADAR_BACK": 180.0}
NO_CAMERA_INFO, NO_TF = "CAM_BACK_LEFT", "CAM_BACK_RIGHT"
IMAGE_TOPIC = "/{camera}/image_rgb"  # the node runs with topics.image:=/{camera}/image_rgb
MATCH_TIMEOUT = 60.0
ANSWER_TIMEOUT = 60.0
DIAGNOSTICS_TIMEOUT = 20.0
SCALE = 0.25


def _stamp(msg, seconds: float):
    msg.header.stamp.sec, nanosec = divmod(int(round(seconds * 1e9)), 1_000_000_000)
    msg.header.stamp.nanosec = nanosec
    return msg


def _turned(transform, child: str, yaw_degrees: float):
    """`transform` (base_link -> sensor) turned about base_link's z axis, as `child`."""
    turn = Rotation.from_euler("z", yaw_degrees, degrees=True)
    out = copy.deepcopy(transform)
    out.child_frame_id = child
    t, q = transform.transform.translation, transform.transform.rotation
    x, y, z = turn.apply([t.x, t.y, t.z])
    out.transform.translation.x, out.transform.translation.y, out.transform.translation.z = (
        float(x),
        float(y),
        float(z),
    )
    qx, qy, qz, qw = (turn * Rotation.from_quat([q.x, q.y, q.z, q.w])).as_quat()
    r = out.transform.rotation
    r.x, r.y, r.z, r.w = float(qx), float(qy), float(qz), float(qw)
    return out


def _scaled(image: Image, info: CameraInfo) -> tuple[Image, CameraInfo]:
    """The image SCALE times its size, and its CameraInfo with K to match."""
    rgb = image_to_numpy(image)
    size = (round(rgb.shape[1] * SCALE), round(rgb.shape[0] * SCALE))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    info = copy.deepcopy(info)
    info.width, info.height = small.shape[1], small.shape[0]
    k = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    k[:2] *= SCALE
    info.k = k.ravel()
    info.p = np.column_stack([k, np.zeros(3)]).ravel()
    return numpy_to_image(small, "rgb8", image.header), info


class RigPeer:
    def __init__(self, dataroot: str) -> None:
        frames, transforms = load_frames(dataroot, limit=1)
        self.image, self.info = _scaled(frames[0].image, frames[0].camera_info)
        self.cloud = frames[0].radar
        by_child = {t.child_frame_id: t for t in transforms}
        self.transforms = [_turned(by_child[CAMERA], c, yaw) for c, yaw in CAMERA_YAW.items()]
        self.transforms += [_turned(by_child[RADAR], r, yaw) for r, yaw in RADAR_YAW.items()]
        self.node = rclpy.create_node("rig_peer")
        latched = latched_qos()
        self.tf_pub = self.node.create_publisher(TFMessage, "/tf_static", latched)
        sensor = qos_profile_sensor_data
        self.image_pubs = {
            c: self.node.create_publisher(Image, IMAGE_TOPIC.format(camera=c), sensor)
            for c in CAMERA_YAW
        }
        self.info_pubs = {
            c: self.node.create_publisher(CameraInfo, f"/{c}/camera_info", sensor)
            for c in CAMERA_YAW
        }
        self.radar_pubs = {
            r: self.node.create_publisher(PointCloud2, f"/{r}", sensor) for r in RADAR_YAW
        }
        self.answers: dict[str, set[str]] = {c: set() for c in CAMERA_YAW}
        self.depths: dict[str, dict[str, np.ndarray]] = {c: {} for c in CAMERA_YAW}
        for camera in CAMERA_YAW:
            self.node.create_subscription(
                Image, f"/{camera}/depth", lambda m, c=camera: self._on_depth(c, m), 10
            )
        self.statuses: dict[str, dict] = {}
        self.history: dict[str, list] | None = None  # every status while recording
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_depth(self, camera: str, msg: Image) -> None:
        key = f"{stamp_to_seconds(msg.header.stamp):.6f}"
        self.answers[camera].add(key)
        self.depths[camera][key] = image_to_numpy(msg)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {}
            for kv in status.values:
                try:
                    values[kv.key] = float(kv.value)
                except ValueError:
                    values[kv.key] = kv.value
            self.statuses[status.hardware_id] = {
                "level": int.from_bytes(status.level, "little")
                if isinstance(status.level, bytes)
                else int(status.level),
                "message": status.message,
                "values": values,
            }
            if self.history is not None:
                self.history.setdefault(status.hardware_id, []).append(
                    {k: self.statuses[status.hardware_id][k] for k in ("level", "message")}
                )

    def spin_until(self, done, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.05)
        return done()

    def wait_for_node(self) -> None:
        self.tf_pub.publish(TFMessage(transforms=self.transforms))
        publishers = [
            *self.image_pubs.values(),
            *self.info_pubs.values(),
            *self.radar_pubs.values(),
        ]
        if not self.spin_until(
            lambda: (
                min(p.get_subscription_count() for p in publishers) > 0
                and "lircdepth" in self.statuses
            ),
            MATCH_TIMEOUT,
        ):
            raise SystemExit("the node never subscribed to every input / published diagnostics")

    def send_frame(self, seconds: float, faults: bool) -> str:
        """Both radar sweeps (10 ms after the images), then every camera's CameraInfo and image."""
        for radar, pub in self.radar_pubs.items():
            cloud = _stamp(copy.deepcopy(self.cloud), seconds + 0.01)
            cloud.header.frame_id = radar
            pub.publish(cloud)
        for camera in CAMERA_YAW:
            image = _stamp(copy.deepcopy(self.image), seconds)
            image.header.frame_id = f"{camera}_UNKNOWN" if faults and camera == NO_TF else camera
            if not (faults and camera == NO_CAMERA_INFO):
                info = _stamp(copy.deepcopy(self.info), seconds)
                info.header.frame_id = camera
                self.info_pubs[camera].publish(info)
            self.image_pubs[camera].publish(image)
        return f"{seconds:.6f}"

    def run_phase(self, base: float, frames: int, faults: bool) -> dict[str, int]:
        expected = [c for c in CAMERA_YAW if not (faults and c in (NO_CAMERA_INFO, NO_TF))]
        for index in range(frames):
            key = self.send_frame(base + index, faults)
            self.spin_until(
                lambda k=key: all(k in self.answers[c] for c in expected), ANSWER_TIMEOUT
            )
        keys = {f"{base + index:.6f}" for index in range(frames)}
        return {camera: len(keys & self.answers[camera]) for camera in CAMERA_YAW}

    def settle_diagnostics(self, ready) -> dict:
        self.statuses.clear()
        self.spin_until(lambda: ready(self.statuses), DIAGNOSTICS_TIMEOUT)
        return copy.deepcopy(self.statuses)


def _faults_reported(statuses: dict) -> bool:
    info, tf = statuses.get(NO_CAMERA_INFO), statuses.get(NO_TF)
    return (
        info is not None
        and tf is not None
        and info["values"].get("rejected.camera_info.missing", 0) > 0
        and tf["values"].get("tf_failures", 0) > 0
    )


def main(dataroot: str, out: str, frames: int) -> None:
    peer = RigPeer(dataroot)
    peer.wait_for_node()
    base = stamp_to_seconds(peer.image.header.stamp) + 100.0
    started = time.monotonic()
    peer.history = {}
    results = {"faults": peer.run_phase(base, frames, faults=True)}
    results["seconds"] = {"faults": time.monotonic() - started}
    # CameraInfo is held 1 s, TF for tf.wait: give the node the time to give up and say so.
    results["faults_diagnostics"] = peer.settle_diagnostics(_faults_reported)
    results["faults_history"], peer.history = peer.history, None
    started = time.monotonic()
    results["all"] = peer.run_phase(base + frames + 1.0, frames, faults=False)
    results["seconds"]["all"] = time.monotonic() - started
    last = f"{base + 2 * frames:.6f}"
    results["all_diagnostics"] = peer.settle_diagnostics(
        lambda s: all(
            s.get(c, {}).get("values", {}).get("published", 0) >= frames for c in CAMERA_YAW
        )
    )
    with open(f"{out}.json", "w") as file:
        json.dump(results, file, indent=1)
    np.savez(f"{out}.npz", **{c: d[last] for c, d in peer.depths.items() if last in d})


if __name__ == "__main__":
    rclpy.init()
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    rclpy.shutdown()
