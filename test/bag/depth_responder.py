"""Test helper, run as its own process: a stand-in for a slow depth node.

    python depth_responder.py IMAGE_TOPIC DEPTH_TOPIC DELAY_SECONDS READY_FILE

Answers every image with a constant 10 m 32FC1 depth image carrying the image's header,
DELAY_SECONDS after it arrived; touches READY_FILE once subscribed; runs until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import rclpy
from sensor_msgs.msg import Image

from lircdepth_ros.bag.ros_runtime import reliable_qos, ros_node
from lircdepth_ros.conversions import numpy_to_image


def main(image_topic: str, depth_topic: str, delay: str, ready_file: str) -> None:
    with ros_node("depth_responder") as (node, executor):
        publisher = node.create_publisher(Image, depth_topic, reliable_qos())

        def answer(msg: Image) -> None:
            time.sleep(float(delay))
            depth = np.full((msg.height, msg.width), 10.0, dtype=np.float32)
            publisher.publish(numpy_to_image(depth, "32FC1", msg.header))

        node.create_subscription(Image, image_topic, answer, reliable_qos())
        Path(ready_file).write_text("ready\n")
        while rclpy.ok(context=node.context):
            executor.spin_once(timeout_sec=0.1)


if __name__ == "__main__":
    main(*sys.argv[1:])
