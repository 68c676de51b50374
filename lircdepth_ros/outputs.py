"""Messages the node publishes, built from a depth map and the input's header/CameraInfo."""

from __future__ import annotations

import cv2
import numpy as np
from sensor_msgs.msg import CameraInfo, PointCloud2
from std_msgs.msg import Header

from lircdepth.geometry import backproject_depth
from lircdepth_ros.conversions import numpy_to_image, xyz_to_pointcloud2


def depth_image(depth: np.ndarray, header: Header):
    """32FC1 metres, with the input image's header (stamp and frame)."""
    return numpy_to_image(depth.astype(np.float32, copy=False), "32FC1", header)


def depth_camera_info(info: CameraInfo, header: Header) -> CameraInfo:
    """The input CameraInfo re-stamped with the depth image's header (same size, same K)."""
    return CameraInfo(
        header=header,
        height=info.height,
        width=info.width,
        distortion_model=info.distortion_model,
        d=info.d,
        k=info.k,
        r=info.r,
        p=info.p,
        binning_x=info.binning_x,
        binning_y=info.binning_y,
        roi=info.roi,
    )


def depth_points(
    depth: np.ndarray, camera_matrix: np.ndarray, header: Header, max_depth: float
) -> PointCloud2:
    """Organised x, y, z cloud like depth_image_proc: NaN where depth is 0 or beyond max_depth."""
    points = backproject_depth(depth, camera_matrix)
    invalid = (depth <= 0) | (depth > max_depth)
    points[invalid] = np.nan
    return xyz_to_pointcloud2(points.reshape(-1, 3), header, height=depth.shape[0])


def depth_colored(depth: np.ndarray, max_depth: float, header: Header):
    """rgb8 visualisation: turbo colour map over [0, max_depth], black where depth is 0."""
    scaled = np.clip(depth / max_depth * 255.0, 0, 255).astype(np.uint8)
    rgb = cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO), cv2.COLOR_BGR2RGB)
    rgb[depth <= 0] = 0
    return numpy_to_image(rgb, "rgb8", header)
