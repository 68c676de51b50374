"""Lidar ground truth for a bag's camera frames, built from the bag alone.

Everything comes from the recorded topics, read with the ROS-free `lircdepth.bagdata`:
intrinsics from CameraInfo, the camera and lidar mounts and the ego poses from `/tf_static`
and `/tf` (a bag with only `/tf`, mounts included, at 2 Hz works too: poses between two
stamps are interpolated). The lidar sweep is moved into the camera with ego-motion
compensation (lidar -> map at the lidar stamp -> camera at the camera stamp), the chain
offline preparation uses. Stamps are header stamps (ns).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lircdepth.bagdata import BagData, CameraModel, MissingTopicError, bag_custom_data, open_bag
from lircdepth.bagdata import messages as m
from lircdepth.bagdata.keyframes import KEYFRAMES_KEY
from lircdepth.geometry import invert_transform, transform_points
from lircdepth_ros.bag.lidar_projection import lidar_depth_map

FRAME_SELECTIONS = ("keyframes", "all")
LIDAR_CHANNEL = "LIDAR_TOP"
CAMERAS_KEY = "lircdepth.cameras"  # the converter's camera list in metadata.yaml

__all__ = [
    "BagGroundTruth",
    "BagRecording",
    "CameraModel",
    "bag_cameras",
    "bag_custom_data",
    "open_bag",
]


class BagRecording:
    """What scoring needs from a bag, for any number of cameras: the transform tree, every
    CameraInfo of the cameras, the lidar stamps and the keyframes (the converter's table, or
    found from the stamps). Lidar sweeps are read on demand (`load_lidar`) and kept."""

    def __init__(self, bag: str | Path, cameras: Sequence[str], lidar: str | None = None):
        self.data = BagData(bag)
        self.bag = self.data.path
        self.topics = self.data.topics
        self.lidar_frame = lidar or self.data.default_lidar()
        self.data.cloud_topic(self.lidar_frame)
        if not {"/tf", "/tf_static"} & set(self.topics):
            raise MissingTopicError(
                f"bag {self.bag} has neither /tf nor /tf_static: no sensor poses"
            )
        self.cameras: dict[str, dict[int, CameraModel]] = {
            c: self.data.camera_infos(c) for c in cameras
        }
        self.lidar_points: dict[int, np.ndarray] = {}
        self.lidar_stamps = sorted(s.stamp for s in self.data.cloud_stamps(self.lidar_frame))
        self.keyframes = self.data.keyframes(list(cameras), self.lidar_frame)
        self.has_keyframe_table = KEYFRAMES_KEY in self.data.custom_data

    def read_points(self, channel: str, stamps: set[int]) -> dict[int, np.ndarray]:
        """N x 3 points (x, y, z in the sensor frame) of a point-cloud channel's messages
        with these header stamps (ns)."""
        return {c.stamp: c.xyz() for c in self.data.clouds(channel, stamps)}

    def load_lidar(self, stamps: set[int]) -> None:
        """Read the lidar sweeps at these stamps (ns) that are not loaded yet."""
        wanted = set(stamps) - set(self.lidar_points)
        if wanted:
            self.lidar_points.update(self.read_points(self.lidar_frame, wanted))
        missing = sorted(wanted - set(self.lidar_points))
        if missing:
            raise MissingTopicError(
                f"bag {self.bag} lacks the lidar sweeps stamped {missing[:5]} (ns)"
            )

    def pose(self, stamp_ns: int) -> np.ndarray:
        """T_map_from_base_link at a stamp (recorded, or interpolated between two)."""
        return self.data.transforms.to_ancestor(m.MAP_FRAME, m.BASE_FRAME, stamp_ns)

    def map_from_sensor(self, frame: str, stamp_ns: int) -> np.ndarray:
        """T_map_from_<frame> at a stamp: ego pose then mount, composed as prepare does."""
        return self.data.map_from_sensor(frame, stamp_ns)


def bag_cameras(bag: str | Path) -> list[str]:
    """The cameras a bag records: the converter's list (`lircdepth.cameras`), else every
    camera found by message type (Image or CompressedImage)."""
    custom = bag_custom_data(bag)
    if CAMERAS_KEY in custom:
        return list(json.loads(custom[CAMERAS_KEY]))
    return sorted(BagData(bag).sensors.cameras)


class BagGroundTruth:
    """Single-sweep lidar depth maps for the frames of one camera a bag records.

    `targets` maps each scored camera stamp (ns) to the stamp (ns) of the lidar sweep
    that is its ground truth: with frames="keyframes" the keyframe pairs (the converter's
    table, or found from the stamps), with frames="all" every camera frame and the nearest
    lidar sweep in time. Several cameras share one `BagRecording`.
    """

    def __init__(
        self,
        bag: str | Path,
        camera: str = "CAM_FRONT",
        lidar: str | None = None,
        frames: str = "keyframes",
        recording: BagRecording | None = None,
    ):
        if frames not in FRAME_SELECTIONS:
            raise ValueError(f"frames must be one of {FRAME_SELECTIONS}, got {frames!r}")
        self.recording = recording or BagRecording(bag, [camera], lidar)
        if camera not in self.recording.cameras:
            raise KeyError(f"the recording of {bag} was read without camera {camera}")
        self.bag = self.recording.bag
        self.camera_frame, self.lidar_frame = camera, self.recording.lidar_frame
        keyframes = self._keyframe_pairs(camera) if frames == "keyframes" else None
        self.targets = keyframes if keyframes is not None else self._nearest_pairs()
        self.recording.load_lidar(set(self.targets.values()))

    @property
    def lidar_points(self) -> dict[int, np.ndarray]:
        return self.recording.lidar_points

    def _keyframe_pairs(self, camera: str) -> dict[int, int] | None:
        keyframes = self.recording.keyframes
        if not keyframes:
            warnings.warn(
                f"bag {self.bag} has no keyframe table and no camera image paired with a lidar "
                "sweep; scoring every camera frame",
                stacklevel=3,
            )
            return None
        if self.recording.has_keyframe_table and any(camera not in k.stamps for k in keyframes):
            raise MissingTopicError(
                f"bag {self.bag} keyframes do not cover channels {camera} and {self.lidar_frame}"
            )
        return {k.stamps[camera]: k.lidar_stamp for k in keyframes if camera in k.stamps}

    def _nearest_pairs(self) -> dict[int, int]:
        if not self.recording.lidar_stamps:
            raise MissingTopicError(f"bag {self.bag} has no lidar sweeps")
        lidar = np.asarray(self.recording.lidar_stamps)
        pairs = {}
        for stamp in sorted(self.recording.cameras[self.camera_frame]):
            index = int(np.argmin(np.abs(lidar - stamp)))
            pairs[stamp] = int(lidar[index])
        return pairs

    def pose(self, stamp_ns: int) -> np.ndarray:
        """T_map_from_base_link at a stamp (see `BagRecording.pose`)."""
        return self.recording.pose(stamp_ns)

    def map_from_sensor(self, frame: str, stamp_ns: int) -> np.ndarray:
        return self.recording.map_from_sensor(frame, stamp_ns)

    def camera(self, camera_stamp: int) -> CameraModel:
        models = self.recording.cameras[self.camera_frame]
        if camera_stamp not in models:
            raise MissingTopicError(
                f"bag {self.bag} has no camera_info for {self.camera_frame} at {camera_stamp} ns"
            )
        return models[camera_stamp]

    def depth_map(self, camera_stamp: int) -> np.ndarray:
        """H x W float32 single-sweep lidar depth (metres, 0 = none) for a scored camera frame.

        The sweep goes to the map frame at its own stamp and into the camera at the camera
        stamp, so the ego motion between the two is compensated.
        """
        lidar_stamp = self.targets[camera_stamp]
        model = self.camera(camera_stamp)
        points_map = transform_points(
            self.map_from_sensor(self.lidar_frame, lidar_stamp), self.lidar_points[lidar_stamp]
        )
        camera_frame = model.frame_id or self.camera_frame
        T_camera_from_map = invert_transform(self.map_from_sensor(camera_frame, camera_stamp))
        return lidar_depth_map(
            points_map, T_camera_from_map, model.camera_matrix, model.height, model.width
        )
