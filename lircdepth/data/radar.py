"""Radar points of a keyframe in its camera's pixels, with features and object index.

Default (the published method): the keyframe's own RADAR_FRONT sweep, every point
(devkit filters off), in file order, each point tied to the annotated box of a
movable object that strictly contains it. Options: the devkit's default filters, the
tolerant box test (grown boxes, azimuth tolerance), the neighbouring +/- N sweeps of
each radar, the radar keyframes of +/- N neighbouring samples, and more radars (each
sweep through its own calibration and ego pose at its own time).
Points of one radar sharing a pixel are resolved later by the rasteriser's rule ("last"
keeps file order meaningful; use "nearest" for accumulated sweeps). Across radars the
nearest one wins a pixel: the points of the other radars there are dropped here, so any
rule gives that result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from nuscenes.nuscenes import NuScenes

from lircdepth.data.boxes import (
    BOX_WINNERS,
    RADAR_BOX_CATEGORIES,
    assign_to_boxes,
    is_movable,
)
from lircdepth.data.nusc_sources import RADAR_RCS_ROW, RADAR_VX_ROW, RADAR_VY_ROW, SensorPoses
from lircdepth.geometry import (
    RADAR_BORDER,
    RADAR_MIN_DEPTH,
    in_image_mask,
    nearest_per_pixel,
    project_radar,
    select_radar_pixels,
    transform_points,
)

# Saved columns: u, v, depth, rcs, vx, vy, object index (0 = none, else 2-D box row + 1).
RADAR_COLUMNS = ("u", "v", "depth", "rcs", "vx", "vy", "object")


RADAR_PAIRINGS = ("keyframe", "camera")
BOX_TESTS = ("strict", "grown")


@dataclass(frozen=True)
class RadarOptions:
    """Which radar points, read how, tied to which boxes.

    `filters`: "none" (every point, published) or "devkit" (its default state filters).
    `box_test`: "strict" (point inside the annotated box, published) or "grown" (box
    grown by `box_margin` m, height ignored, +/- `azimuth_tolerance_deg`), over the boxes
    whose category starts with one of `box_categories` (published: the 7 of
    `RADAR_BOX_CATEGORIES`) and that are seen in the camera; `box_winner`: which box a
    point inside several takes ("later", published, or "nearest" centre).
    `pairing`: which sweep of each radar a camera image gets: "keyframe" (the sample's
    own radar sample_data, published) or "camera" (the sweep nearest in time to that
    camera's image, as `lircdepth_node` pairs online: side cameras fire up to tens of
    milliseconds away from the keyframe).
    """

    channels: tuple[str, ...] = ("RADAR_FRONT",)
    sweeps: int = 0
    keyframes: int = 0
    filters: str = "none"
    box_test: str = "strict"
    box_categories: tuple[str, ...] = RADAR_BOX_CATEGORIES
    box_winner: str = "later"
    box_margin: float = 0.5
    azimuth_tolerance_deg: float = 1.7
    pairing: str = "keyframe"

    def __post_init__(self) -> None:
        if self.box_test not in BOX_TESTS:
            raise ValueError(
                f"box_test must be one of {', '.join(BOX_TESTS)}, got {self.box_test!r}"
            )
        if self.box_winner not in BOX_WINNERS:
            raise ValueError(
                f"box_winner must be one of {', '.join(BOX_WINNERS)}, got {self.box_winner!r}"
            )
        if self.pairing not in RADAR_PAIRINGS:
            raise ValueError(
                f"pairing must be one of {', '.join(RADAR_PAIRINGS)}, got {self.pairing!r}"
            )

    def box_tolerance(self) -> dict[str, Any]:
        """Keyword arguments of `assign_to_boxes` for the chosen box test."""
        if self.box_test == "strict":
            return {"winner": self.box_winner}
        return {
            "winner": self.box_winner,
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


def nearest_sweep(nusc: NuScenes, token: str, timestamp: int) -> str:
    """The sample_data of `token`'s sensor chain nearest in time to `timestamp`."""

    def gap(candidate: str) -> int:
        return abs(nusc.get("sample_data", candidate)["timestamp"] - timestamp)

    for direction in ("prev", "next"):
        step = nusc.get("sample_data", token)[direction]
        while step and gap(step) < gap(token):
            token, step = step, nusc.get("sample_data", step)[direction]
    return token


def radar_sample_data(
    nusc: NuScenes, sample: dict, options: RadarOptions, camera_token: str | None = None
) -> list[str]:
    """sample_data tokens of every radar sweep that contributes to this keyframe (with
    `pairing="camera"`, centred on the sweep nearest to `camera_token`'s image)."""
    camera_time = None
    if options.pairing == "camera" and camera_token is not None:
        camera_time = nusc.get("sample_data", camera_token)["timestamp"]
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
            if sample_token == sample["token"] and camera_time is not None:
                key = nearest_sweep(nusc, key, camera_time)
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
    candidates = [
        i
        for i, box in enumerate(boxes)
        if is_movable(box.name, options.box_categories) and object_row_of_box[i] >= 0
    ]
    parts: dict[str, list[np.ndarray]] = {}
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
        channel = nusc.get("sample_data", token)["channel"]
        parts.setdefault(channel, []).append(np.column_stack([projected, object_index])[keep])
    if not parts:
        return np.zeros((0, len(RADAR_COLUMNS)), dtype=np.float32)
    per_radar = [np.concatenate(channel_parts) for channel_parts in parts.values()]
    return np.concatenate(nearest_radar_wins(per_radar, height, width)).astype(np.float32)


def nearest_radar_wins(per_radar: list[np.ndarray], height: int, width: int) -> list[np.ndarray]:
    """Where radars share a pixel, keep only the points of the radar whose pixel winner
    (its last point there, the published rule) is nearest; ties go to the earlier radar.

    Each array is N x (3 + ...) with u, v, depth first, already inside the image.
    One radar is returned unchanged.
    """
    if len(per_radar) < 2:
        return per_radar
    pixels, depths, owners = [], [], []
    for radar, points in enumerate(per_radar):
        rows, cols, index = select_radar_pixels(points[:, :6], height, width, "last")
        pixels.append(rows * width + cols)
        depths.append(points[index, 2])
        owners.append(np.full(len(rows), radar))
    pixel, depth, owner = (np.concatenate(a) for a in (pixels, depths, owners))
    best = nearest_per_pixel(pixel // width, pixel % width, depth, width)
    winner = np.full(height * width, -1, dtype=np.int64)
    winner[pixel[best]] = owner[best]
    kept = []
    for radar, points in enumerate(per_radar):
        rows = np.clip(np.round(points[:, 1]).astype(np.int64), 0, height - 1)
        cols = np.clip(np.round(points[:, 0]).astype(np.int64), 0, width - 1)
        at = winner[rows * width + cols]
        kept.append(points[(at == -1) | (at == radar)])
    return kept
