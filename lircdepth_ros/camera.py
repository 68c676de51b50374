"""One camera of the node: its topics, pairing, last CameraInfo, counters and publishers.

The single-camera node has one `CameraStream` with no name (topics `image`, `camera_info`,
`depth`, ...) whose counters are the node's; a rig has one per named camera, each with its
own counters and /diagnostics status.
"""

from __future__ import annotations

import time

from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from lircdepth_ros import outputs
from lircdepth_ros.diagnostics import NodeStats
from lircdepth_ros.rig import CameraTopics

# A camera is waited for in a batch while it sent an image within this many seconds.
LIVE_SECONDS = 1.0


class CameraStream:
    """Per-camera state shared by the callbacks (writers) and the worker (reader)."""

    def __init__(
        self,
        index: int,
        topics: CameraTopics,
        stats: NodeStats,
        pairing,
        node: Node,
        qos: QoSProfile,
    ) -> None:
        self.index = index
        self.topics = topics
        self.name = topics.name
        self.stats = stats
        self.pairing = pairing  # pairing.Pairing: the project's or message_filters'
        self.camera_info: CameraInfo | None = None
        self.last_image: float | None = None
        self.waiting_info_since: float | None = None  # first pair without CameraInfo (monotonic)
        self.failing: str | None = None  # why its last pair was skipped; None once published
        self._node, self._qos = node, qos
        self.pub_depth = node.create_publisher(Image, topics.depth, qos)
        self.pub_info = node.create_publisher(CameraInfo, topics.output("camera_info"), qos)
        self.pub_uncertainty = node.create_publisher(Image, topics.output("uncertainty"), qos)
        self.pub_points: Publisher | None = None
        self.pub_colored: Publisher | None = None

    def create_enabled_publishers(self, points: bool, colored: bool) -> None:
        """Optional outputs appear when first enabled (at start-up or by `ros2 param set`)."""
        if points and self.pub_points is None:
            self.pub_points = self._node.create_publisher(
                PointCloud2, self.topics.output("points"), self._qos
            )
        if colored and self.pub_colored is None:
            self.pub_colored = self._node.create_publisher(
                Image, self.topics.output("colored"), self._qos
            )

    def has_subscribers(self) -> bool:
        """Someone listens to one of this camera's outputs (the lazy node works only then)."""
        outputs = (self.pub_depth, self.pub_info, self.pub_uncertainty)
        optional = (self.pub_points, self.pub_colored)
        return any(p.get_subscription_count() > 0 for p in (*outputs, *optional) if p)

    def is_live(self, now: float | None = None) -> bool:
        """Has a CameraInfo and sent an image lately: a batch waits for this camera."""
        now = time.monotonic() if now is None else now
        return (
            self.camera_info is not None
            and self.last_image is not None
            and now - self.last_image < LIVE_SECONDS
        )

    def publish(
        self, image_header, info: CameraInfo, camera_matrix, result, config, max_depth: float
    ) -> None:
        header = outputs.output_header(image_header, config.camera_frame)
        depth = outputs.positive_depth(result.depth)
        self.pub_depth.publish(outputs.depth_image(depth, header))
        self.pub_info.publish(outputs.depth_camera_info(info, header))
        if config.publish_uncertainty and result.uncertainty is not None:
            self.pub_uncertainty.publish(outputs.depth_image(result.uncertainty, header))
        if config.publish_points and self.pub_points is not None:
            self.pub_points.publish(outputs.depth_cloud(depth, camera_matrix, header, max_depth))
        if config.publish_colored and self.pub_colored is not None:
            self.pub_colored.publish(outputs.depth_colored(depth, max_depth, header))
