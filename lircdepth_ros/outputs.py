"""Messages the node publishes, built from a depth map and the input's header/CameraInfo."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, PointCloud2
from std_msgs.msg import Header

from lircdepth.geometry import backproject_depth
from lircdepth.visualize import colorize
from lircdepth_ros.conversions import numpy_to_image, xyz_to_pointcloud2

# The least depth published, metres. The network's depth is max_depth * sigmoid, which
# underflows to exact 0 far in its negative range (torch and OpenVINO alike): that is the
# nearest depth the network can say, not "no value" (REP 118's NaN), and many consumers read
# 0 as invalid, so such pixels are published at this depth (see docs/ros.md).
MIN_DEPTH = 0.01


def positive_depth(depth: np.ndarray) -> np.ndarray:
    """The depth with every value below MIN_DEPTH (the sigmoid's exact 0) raised to it."""
    return np.maximum(depth, np.float32(MIN_DEPTH), dtype=np.float32)


def output_header(image_header: Header, camera_frame: str) -> Header:
    """The image's stamp in the frame the depth is in: `frames.camera` when set (the frame
    the radar was brought into), else the image's own frame_id."""
    return Header(stamp=image_header.stamp, frame_id=camera_frame or image_header.frame_id)


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


def depth_cloud(
    depth: np.ndarray, camera_matrix: np.ndarray, header: Header, max_depth: float
) -> PointCloud2:
    """Organised x, y, z cloud like depth_image_proc: NaN where depth is 0 or beyond max_depth."""
    points = backproject_depth(depth, camera_matrix)
    invalid = (depth <= 0) | (depth > max_depth)
    points[invalid] = np.nan
    return xyz_to_pointcloud2(points.reshape(-1, 3), header, height=depth.shape[0])


def depth_colored(depth: np.ndarray, max_depth: float, header: Header):
    """rgb8 visualisation by the project's one convention (lircdepth.visualize: turbo over
    [0, max_depth], near red, far blue, black where depth is 0)."""
    return numpy_to_image(colorize(depth, max_depth), "rgb8", header)
