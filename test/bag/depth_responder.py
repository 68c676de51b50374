"""Test helper, run as its own process: a stand-in for a slow depth node of one or more cameras.

    python depth_responder.py DELAY_SECONDS READY_FILE IMAGE_TOPIC=DEPTH_TOPIC[=mute] [...]

Answers every image of the i-th pair with a constant (10 + i) m 32FC1 depth image carrying
the image's header, DELAY_SECONDS after it arrived; a `mute` pair subscribes its image and
publishes its depth topic but never answers (a camera the node cannot serve). Touches
READY_FILE once subscribed; runs until killed.
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


def main(delay: str, ready_file: str, *pairs: str) -> None:
    with ros_node("depth_responder") as (node, executor):
        for index, pair in enumerate(pairs):
            image_topic, depth_topic, *mode = pair.split("=")
            publisher = node.create_publisher(Image, depth_topic, reliable_qos())

            def answer(msg: Image, publisher=publisher, value=10.0 + index) -> None:
                time.sleep(float(delay))
                depth = np.full((msg.height, msg.width), value, dtype=np.float32)
                publisher.publish(numpy_to_image(depth, "32FC1", msg.header))

            muted = mode == ["mute"]
            node.create_subscription(
                Image, image_topic, (lambda msg: None) if muted else answer, reliable_qos()
            )
        Path(ready_file).write_text("ready\n")
        while rclpy.ok(context=node.context):
            executor.spin_once(timeout_sec=0.1)


if __name__ == "__main__":
    main(*sys.argv[1:])
