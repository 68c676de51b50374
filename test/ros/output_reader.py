"""Test peer: reads the node's depth, depth/camera_info and depth/points back, the points
with sensor_msgs_py (the real library), and saves the first complete set to OUT.npz.

    output_reader.py OUT.npz TIMEOUT [--ros-args -r depth:=/cam/depth ...]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from sensor_msgs_py import point_cloud2

from lircdepth_ros.conversions import image_to_numpy


def main(out: str, timeout: float) -> None:
    node = rclpy.create_node("output_reader")
    got: dict[str, dict[int, object]] = {"depth": {}, "info": {}, "points": {}}

    def keep(kind: str):
        def store(msg) -> None:
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            got[kind][stamp] = msg

        return store

    node.create_subscription(Image, "depth", keep("depth"), 10)
    node.create_subscription(CameraInfo, "depth/camera_info", keep("info"), 10)
    node.create_subscription(PointCloud2, "depth/points", keep("points"), 10)
    end = time.monotonic() + timeout
    common: set[int] = set()
    while not common and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
        common = set(got["depth"]) & set(got["info"]) & set(got["points"])
    if not common:
        raise SystemExit("no complete depth + camera_info + points set received")
    stamp = min(common)
    cloud = got["points"][stamp]
    xyz = point_cloud2.read_points_numpy(cloud, field_names=["x", "y", "z"])
    np.savez(
        out,
        depth=image_to_numpy(got["depth"][stamp]),
        k=np.asarray(got["info"][stamp].k, dtype=np.float64).reshape(3, 3),
        xyz=xyz.reshape(cloud.height, cloud.width, 3),
        frame_ids=np.array([got["depth"][stamp].header.frame_id, cloud.header.frame_id]),
    )


if __name__ == "__main__":
    rclpy.init()
    main(sys.argv[1], float(sys.argv[2]))
    rclpy.shutdown()
