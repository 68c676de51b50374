"""The surround picture of one keyframe sample of a bag and the depth the cameras gave.

Everything is put into the ego frame at the sample's lidar stamp: each camera through its
mount and the ego pose at its own stamp (so the ego motion between the cameras' trigger
times is compensated), each radar sweep and the lidar sweep likewise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lircdepth.errors import BadValueError
from lircdepth.geometry import invert_transform, transform_points
from lircdepth.surround_view import CameraDepth, render_surround, save_surround
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.convert import point_cloud_topic
from lircdepth_ros.bag.ground_truth import BagRecording


def sample_stamps(recording: BagRecording, sample: int) -> dict[str, int]:
    """channel -> stamp (ns) of the sample's keyframe of every channel it holds."""
    keyframes = recording.keyframes
    if not keyframes:
        raise BadValueError(f"bag {recording.bag} has no keyframes for a surround picture")
    if not 0 <= sample < len(keyframes):
        raise BadValueError(
            f"--surround-sample {sample}: bag {recording.bag} has {len(keyframes)} keyframe samples"
        )
    return dict(keyframes[sample].stamps)


def radar_channels(recording: BagRecording, stamps: Mapping[str, int]) -> list[str]:
    """Channels of the sample recorded as point clouds, other than the lidar."""
    return [
        channel
        for channel in stamps
        if channel != recording.lidar_frame
        and recording.topics.get(point_cloud_topic(channel)) == m.POINT_CLOUD
    ]


def surround_picture(
    recording: BagRecording,
    sample: int,
    depth_by_camera: Mapping[str, np.ndarray],
    cameras: Sequence[str],
    max_depth: float = 80.0,
) -> np.ndarray:
    """RGB picture of the sample: `cameras` (their depth, or "no depth"), radar and lidar."""
    stamps = sample_stamps(recording, sample)
    reference = stamps[recording.lidar_frame]
    T_ego_from_map = invert_transform(recording.pose(reference))

    def ego_from(channel: str) -> np.ndarray:
        return T_ego_from_map @ recording.map_from_sensor(channel, stamps[channel])

    views = []
    for camera in cameras:
        model = recording.cameras[camera].get(stamps.get(camera, -1))
        if model is None:
            continue
        views.append(
            CameraDepth(
                camera,
                depth_by_camera.get(camera),
                model.camera_matrix,
                ego_from(camera),
                model.width,
                model.height,
            )
        )
    radar = [
        transform_points(ego_from(channel), points)
        for channel in radar_channels(recording, stamps)
        for points in recording.read_points(channel, {stamps[channel]}).values()
    ]
    recording.load_lidar({reference})
    lidar = transform_points(ego_from(recording.lidar_frame), recording.lidar_points[reference])
    title = f"{Path(recording.bag).name}, keyframe sample {sample}"
    return render_surround(
        views, np.vstack(radar) if radar else None, lidar, max_depth=max_depth, title=title
    )


def write_surround_picture(
    path: str | Path,
    recording: BagRecording,
    sample: int,
    depth_by_camera: Mapping[str, np.ndarray],
    cameras: Sequence[str],
    max_depth: float = 80.0,
) -> Path:
    save_surround(surround_picture(recording, sample, depth_by_camera, cameras, max_depth), path)
    return Path(path)
