"""Radar points of a keyframe in its camera's pixels, with features and object index.

Default (the published method): the keyframe's own RADAR_FRONT sweep, every point
(devkit filters off), in file order, each point tied to the annotated box of a
movable object that strictly contains it. Options: the devkit's default filters, the
tolerant box test (grown boxes, azimuth tolerance), the neighbouring +/- N sweeps of
each radar, the radar keyframes of +/- N neighbouring samples, and more radars.
Points sharing a pixel are resolved later by the rasteriser's rule ("last" keeps file
order meaningful; use "nearest" for accumulated sweeps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from nuscenes.nuscenes import NuScenes

from lircdepth.data.boxes import MOVABLE_PREFIXES, assign_to_boxes, is_movable
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


BOX_TESTS = ("strict", "grown")


@dataclass(frozen=True)
class RadarOptions:
    """Which radar points, read how, tied to which boxes.

    `filters`: "none" (every point, published) or "devkit" (its default state filters).
    `box_test`: "strict" (point inside the annotated box, published) or "grown" (box
    grown by `box_margin` m, height ignored, +/- `azimuth_tolerance_deg`), over the boxes
    whose category starts with one of `box_categories`.
    """

    channels: tuple[str, ...] = ("RADAR_FRONT",)
    sweeps: int = 0
    keyframes: int = 0
    filters: str = "none"
    box_test: str = "strict"
    box_categories: tuple[str, ...] = MOVABLE_PREFIXES
    box_margin: float = 0.5
    azimuth_tolerance_deg: float = 1.7

    def __post_init__(self) -> None:
        if self.box_test not in BOX_TESTS:
            raise ValueError(
                f"box_test must be one of {', '.join(BOX_TESTS)}, got {self.box_test!r}"
            )

    def box_tolerance(self) -> dict[str, float | bool]:
        """Keyword arguments of `assign_to_boxes` for the chosen box test."""
        if self.box_test == "strict":
            return {}
        return {
            "margin": self.box_margin,
            "azimuth_tolerance_deg": self.azimuth_tolerance_deg,
            "ignore_height": True,
        }


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
    candidates = [i for i, box in enumerate(boxes) if is_movable(box.name, options.box_categories)]
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
            [boxes[i] for i in candidates],
            T_global_from_radar[:3, 3],
            **options.box_tolerance(),
        )
        object_index = np.zeros(len(owner))
        on_box = owner >= 0
        object_index[on_box] = (
            object_row_of_box[np.asarray(candidates, dtype=np.int64)[owner[on_box]]] + 1
        )
        keep = in_image_mask(
            projected[:, :2], projected[:, 2], height, width, RADAR_MIN_DEPTH, RADAR_BORDER
        )
        parts.append(np.column_stack([projected, object_index])[keep])
    if not parts:
        return np.zeros((0, len(RADAR_COLUMNS)), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32)
