"""One synchronised pair of messages -> the estimator's inputs (RGB image, N x 6 radar, K).

Kept apart from the node so tests and benchmarks compute exactly what the node feeds
the model, from the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from lircdepth.geometry import project_radar, transform_points
from lircdepth_ros.calibration import RadarToCamera
from lircdepth_ros.conversions import MessageError, camera_matrix_from_info
from lircdepth_ros.image_input import to_rgb8
from lircdepth_ros.radar import DEFAULT_FIELDS, RadarFieldNames, radar_points_from_cloud
from lircdepth_ros.tf_buffer import stamp_to_seconds


@dataclass
class FrameInputs:
    image: np.ndarray  # H x W x 3 uint8 RGB
    radar_points: np.ndarray  # N x 6: u, v, depth, rcs, vx, vy
    camera_matrix: np.ndarray
    non_finite_points: int
    points_in_image: list[int] = field(default_factory=list)  # per sweep, in front and inside


def frame_inputs(
    image_msg: Image | CompressedImage,
    info: CameraInfo,
    radar_msgs: Sequence[PointCloud2],
    extrinsics: RadarToCamera,
    fields: RadarFieldNames = DEFAULT_FIELDS,
    camera_frame: str = "",
    radar_frame: str = "",
) -> FrameInputs:
    """Look the transforms up, convert, check sizes, bring every radar sweep into the camera
    at the image stamp, project.

    Raises MessageError for malformed messages and TransformError when no extrinsic is
    known (looked up first: a pair waiting for TF costs no conversion).
    """
    camera = camera_frame or image_msg.header.frame_id
    image_stamp = stamp_to_seconds(image_msg.header.stamp)
    camera_from_radars = [
        extrinsics.camera_from_radar(
            camera,
            image_stamp,
            radar_frame or cloud.header.frame_id,
            stamp_to_seconds(cloud.header.stamp),
        )
        for cloud in radar_msgs
    ]
    image = to_rgb8(image_msg)  # a CompressedImage is decoded here, on the worker thread
    if (info.height, info.width) != image.shape[:2]:
        raise MessageError(
            f"Image is {image.shape[1]} x {image.shape[0]} but CameraInfo says {info.width} x {info.height}",
            "image.camera_info_mismatch",
        )
    camera_matrix = camera_matrix_from_info(info)
    projected, non_finite, in_image = [], 0, []
    for cloud, camera_from_radar in zip(radar_msgs, camera_from_radars, strict=True):
        sweep = radar_points_from_cloud(cloud, fields)
        non_finite += sweep.dropped_non_finite
        points = project_radar(
            transform_points(camera_from_radar, sweep.xyz), sweep.features, camera_matrix
        )
        projected.append(points)
        in_image.append(_count_in_image(points, image.shape[1], image.shape[0]))
    radar_points = np.concatenate(projected) if projected else np.zeros((0, 6))
    return FrameInputs(image, radar_points, camera_matrix, non_finite, in_image)


def _count_in_image(points: np.ndarray, width: int, height: int) -> int:
    """Projected points in front of the camera and inside the image (u, v, depth columns)."""
    u, v, depth = points[:, 0], points[:, 1], points[:, 2]
    return int(np.count_nonzero((depth > 0) & (u >= 0) & (u < width) & (v >= 0) & (v < height)))
