"""Test peer for latched calibration (run with `--ros-args -r __ns:=/NS` to reach a node in a
namespace).

latch DATAROOT: publishes the synthetic CameraInfo once on `camera_info` with transient-local
    durability, then stays up (a latched sample lives as long as its publisher).
frames DATAROOT OUT.json: static TF, then image + radar pairs (never a CameraInfo) until
    the node's depth comes; writes {"answered": bool}.
"""

from __future__ import annotations

import json
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from ros_peer import Peer, _set_stamp
from sensor_msgs.msg import CameraInfo
from tf2_msgs.msg import TFMessage

from lircdepth_ros.qos import latched_qos
from lircdepth_ros.synth_frames import load_frames
from lircdepth_ros.tf_buffer import stamp_to_seconds

ANSWER_TIMEOUT = 90.0


def latch(dataroot: str) -> None:
    frames, _ = load_frames(dataroot, limit=1)
    node = rclpy.create_node("peer_latch")
    latched = latched_qos()
    node.create_publisher(CameraInfo, "camera_info", latched).publish(frames[0].camera_info)
    print("latched", flush=True)
    rclpy.spin(node)


def send_frames(dataroot: str, out: str) -> None:
    frames, transforms = load_frames(dataroot, limit=1)
    frame = frames[0]
    peer = Peer("peer_latched_frames")
    peer.tf_pub.publish(TFMessage(transforms=transforms))
    stamp = stamp_to_seconds(frame.image.header.stamp) + 100.0
    answered = False
    for _ in range(int(ANSWER_TIMEOUT)):
        peer.radar_pub.publish(_set_stamp(frame.radar, stamp))
        peer.image_pub.publish(_set_stamp(frame.image, stamp))
        if peer.spin_until(lambda: bool(peer.depth_stamps), 1.0):  # any depth: a slow
            answered = True  # forward answers an earlier frame after this one was sent
            break
        stamp += 1.0
    with open(out, "w") as file:
        json.dump({"answered": answered}, file)


if __name__ == "__main__":
    rclpy.init()
    mode, *rest = rclpy.utilities.remove_ros_args(sys.argv)[1:]
    try:
        if mode == "latch":
            latch(rest[0])
        else:
            send_frames(rest[0], rest[1])
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # Ctrl-C, or SIGTERM (rclpy's handler shuts the context down)
    finally:
        rclpy.try_shutdown()
