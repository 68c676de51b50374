"""Radar points of a keyframe in its camera's pixels, with features and object index.

Default (the method): the keyframe's own RADAR_FRONT sweep. Options add the
neighbouring +/- N sweeps of each radar, the radar keyframes of +/- N neighbouring
samples, and more radars; overlapping points are resolved later by the rasteriser
(nearer point wins a pixel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from nuscenes.nuscenes import NuScenes

from lircdepth.data.boxes import assign_to_boxes
from lircdepth.data.nusc_sources import RADAR_RCS_ROW, RADAR_VX_ROW, RADAR_VY_ROW, SensorPoses
from lircdepth.geometry import (
    RADAR_BORDER,
    RADAR_MIN_DEPTH,
    in_image_mask,
    project_radar,
    transform_points,
)

# Saved columns: u, v, depth, rcs, vx, vy, object index (0 = none, else 2-D box row + 1).
RADAR_COLUMNS = ("u", "v", "depth", "rcs", "vx", "vy", "object")


@dataclass(frozen=True)
class RadarOptions:
    channels: tuple[str, ...] = ("RADAR_FRONT",)
    sweeps: int = 0
    keyframes: int = 0
    box_margin: float = 0.5
    azimuth_tolerance_deg: float = 1.7


def _walk(nusc: NuScenes, table: str, token: str, steps: int, direction: str) -> list[str]:
    tokens = []
    for _ in range(steps):
        token = nusc.get(table, token)[direction]
        if not token:
            break
        tokens.append(token)
    return tokens


def radar_sample_data(nusc: NuScenes, sample: dict, options: RadarOptions) -> list[str]:
    """sample_data tokens of every radar sweep that contributes to this keyframe."""
    samples = [sample["token"]]
    for direction in ("prev", "next"):
        samples += _walk(nusc, "sample", sample["token"], options.keyframes, direction)
    tokens = []
    for sample_token in samples:
        data = nusc.get("sample", sample_token)["data"]
        for channel in options.channels:
            if channel not in data:
                continue
            key = data[channel]
            tokens.append(key)
            for direction in ("prev", "next"):
                tokens += _walk(nusc, "sample_data", key, options.sweeps, direction)
    return list(dict.fromkeys(tokens))


def radar_points(
    nusc: NuScenes,
    poses: SensorPoses,
    radar_tokens: list[str],
    load_fields: Callable[[str], np.ndarray],
    camera_token: str,
    object_row_of_box: np.ndarray,
    image_size: tuple[int, int],
    options: RadarOptions,
) -> np.ndarray:
    """N x 7 radar points (RADAR_COLUMNS) that the radar map can use, float32."""
    width, height = image_size
    T_cam_from_global = poses.sensor_from_global(camera_token)
    camera_matrix = poses.camera_matrix(camera_token)
    boxes = nusc.get_boxes(camera_token)
    parts = []
    for token in radar_tokens:
        fields = load_fields(token)
        T_global_from_radar = poses.global_from_sensor(token)
        in_global = transform_points(T_global_from_radar, fields[:3].T)
        features = fields[[RADAR_RCS_ROW, RADAR_VX_ROW, RADAR_VY_ROW]].T
        projected = project_radar(
            transform_points(T_cam_from_global, in_global), features, camera_matrix
        )
        owner = assign_to_boxes(
            in_global,
            boxes,
            T_global_from_radar[:3, 3],
            options.box_margin,
            options.azimuth_tolerance_deg,
        )
        object_index = np.zeros(len(owner))
        on_box = owner >= 0
        object_index[on_box] = object_row_of_box[owner[on_box]] + 1
        keep = in_image_mask(
            projected[:, :2], projected[:, 2], height, width, RADAR_MIN_DEPTH, RADAR_BORDER
        )
        parts.append(np.column_stack([projected, object_index])[keep])
    if not parts:
        return np.zeros((0, len(RADAR_COLUMNS)), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32)
