"""Test peer process: `publish` synthetic-world frames, or `subscribe` to depth and save it.

publish DATAROOT [--drop-tf] [--repeat N]: static TF, then per frame camera_info, image, radar.
subscribe OUT.npz COUNT TIMEOUT: saves the first COUNT depth images (stamp -> array).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from lircdepth_ros.conversions import image_to_numpy
from lircdepth_ros.synth_frames import load_frames
from lircdepth_ros.tf_buffer import stamp_to_seconds


def publish(dataroot: str, period: float = 0.3) -> None:
    from tf2_msgs.msg import TFMessage

    frames, transforms = load_frames(dataroot)
    node = rclpy.create_node("peer_publisher")
    static_qos = QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )
    node.create_publisher(TFMessage, "/tf_static", static_qos).publish(
        TFMessage(transforms=transforms)
    )
    info_pub = node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    image_pub = node.create_publisher(Image, "image", qos_profile_sensor_data)
    radar_pub = node.create_publisher(PointCloud2, "radar", qos_profile_sensor_data)
    end = time.monotonic() + 60
    while (
        time.monotonic() < end
        and min(p.get_subscription_count() for p in (info_pub, image_pub, radar_pub)) == 0
    ):
        time.sleep(0.2)  # best effort: wait until the node has matched every publisher
    time.sleep(0.5)
    for frame in frames:
        info_pub.publish(frame.camera_info)
        radar_pub.publish(frame.radar)
        time.sleep(0.05)
        image_pub.publish(frame.image)
        time.sleep(period)
    time.sleep(1.0)


def subscribe(out: str, count: int, timeout: float) -> None:
    node = rclpy.create_node("peer_subscriber")
    received: dict[str, np.ndarray] = {}
    node.create_subscription(
        Image,
        "depth",
        lambda m: received.setdefault(f"{stamp_to_seconds(m.header.stamp):.6f}", image_to_numpy(m)),
        10,
    )
    end = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    np.savez(out, **received)


if __name__ == "__main__":
    rclpy.init()
    mode, *rest = sys.argv[1:]
    if mode == "publish":
        publish(rest[0])
    else:
        subscribe(rest[0], int(rest[1]), float(rest[2]))
    rclpy.shutdown()
