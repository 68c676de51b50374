"""Realistic ROS input frames from a nuScenes-format dataroot (the synthetic world in tests).

Each frame: the CAM_FRONT image (rgb8), its CameraInfo from calibrated_sensor, the
RADAR_FRONT sweep nearest in time as a PointCloud2 in the radar frame (x, y, z, rcs, vx,
vy), and the static base_link -> sensor transforms for /tf_static.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from geometry_msgs.msg import TransformStamped
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from lircdepth_ros.conversions import numpy_to_image, xyz_to_pointcloud2
from lircdepth_ros.synth_community import header, transform

BASE_FRAME = "base_link"
CAMERA = "CAM_FRONT"
RADAR = "RADAR_FRONT"
# Rows of the nuScenes 18-row radar array: x, y, z, ..., rcs (5), vx (6), vy (7).
RADAR_ROWS = {"rcs": 5, "vx": 6, "vy": 7}


@dataclass
class RosFrame:
    image: Image
    camera_info: CameraInfo
    radar: PointCloud2


def load_frames(
    dataroot: str | Path, version: str = "v1.0-mini", limit: int = 4
) -> tuple[list[RosFrame], list[TransformStamped]]:
    """Up to `limit` keyframes as ROS messages, and the static transforms of the rig."""
    from nuscenes.nuscenes import NuScenes
    from nuscenes.utils.data_classes import RadarPointCloud

    nusc = NuScenes(version=version, dataroot=str(dataroot), verbose=False)
    frames, transforms = [], {}
    for sample in nusc.sample[:limit]:
        camera = nusc.get("sample_data", sample["data"][CAMERA])
        radar = nusc.get("sample_data", sample["data"][RADAR])
        camera_cal = nusc.get("calibrated_sensor", camera["calibrated_sensor_token"])
        radar_cal = nusc.get("calibrated_sensor", radar["calibrated_sensor_token"])
        transforms[CAMERA] = transform(BASE_FRAME, CAMERA, 0, camera_cal)
        transforms[RADAR] = transform(BASE_FRAME, RADAR, 0, radar_cal)
        rgb = cv2.cvtColor(cv2.imread(str(Path(dataroot) / camera["filename"])), cv2.COLOR_BGR2RGB)
        image = numpy_to_image(rgb, "rgb8", header(CAMERA, camera["timestamp"]))
        info = CameraInfo(
            header=image.header,
            height=rgb.shape[0],
            width=rgb.shape[1],
            distortion_model="plumb_bob",
        )
        info.k = np.asarray(camera_cal["camera_intrinsic"], dtype=np.float64).ravel()
        info.d = np.zeros(5)
        info.r = np.eye(3).ravel()
        info.p = np.column_stack([info.k.reshape(3, 3), np.zeros(3)]).ravel()
        points = RadarPointCloud.from_file(str(Path(dataroot) / radar["filename"])).points
        cloud = xyz_to_pointcloud2(
            points[:3].T,
            header(RADAR, radar["timestamp"]),
            **{name: points[row] for name, row in RADAR_ROWS.items()},
        )
        frames.append(RosFrame(image, info, cloud))
    return frames, list(transforms.values())
