"""A picture of one keyframe: lidar and radar projected by the devkit over the camera image.

Projection goes through nuscenes-devkit's own `NuScenesExplorer.map_pointcloud_to_image`,
so the picture shows what any devkit user gets from the dataset (calibration, ego poses
and file formats included), not what the generator meant to write. The true depth map
is drawn beside it with the same colour scale. A full-rig world also gets a 2 x 3 picture
of its six cameras with every radar (`render_rig_preview`).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from nuscenes.nuscenes import NuScenes, NuScenesExplorer

from lircdepth.visualize import depth_bgr

PREVIEW_MAX_DEPTH = 60.0  # metres mapped to the top of the colour scale


def colorize_depth(depth: np.ndarray, max_depth: float = PREVIEW_MAX_DEPTH) -> np.ndarray:
    """BGR colours of depths (maps or N-vectors), the project's convention (lircdepth.visualize)."""
    return depth_bgr(depth, max_depth)


def _projected(
    explorer: NuScenesExplorer, point_token: str, camera_token: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (N x 2) and camera depths (N) of a point cloud, via the devkit."""
    points, depths, _ = explorer.map_pointcloud_to_image(point_token, camera_token)
    return points[:2].T, np.asarray(depths)


def _draw_points(
    image: np.ndarray, uv: np.ndarray, depths: np.ndarray, radius: int, ring: bool
) -> None:
    if len(depths) == 0:  # OpenCV's colour map refuses an empty array
        return
    colours = colorize_depth(depths)
    for (u, v), colour in zip(np.round(uv).astype(int), colours, strict=True):
        if ring:
            cv2.circle(image, (u, v), radius + 2, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.circle(image, (u, v), radius, tuple(int(c) for c in colour), -1, cv2.LINE_AA)


def _label(image: np.ndarray, text: str) -> None:
    scale = image.shape[1] / 1600
    origin = (int(12 * scale) + 4, int(40 * scale) + 8)
    for colour, thickness in (((0, 0, 0), 4), ((255, 255, 255), 1)):
        cv2.putText(
            image,
            text,
            origin,
            cv2.FONT_HERSHEY_SIMPLEX,
            scale + 0.4,
            colour,
            thickness,
            cv2.LINE_AA,
        )


def _camera_panel(
    nusc: NuScenes, explorer: NuScenesExplorer, data: dict, camera: str, radars: list[str]
) -> tuple[np.ndarray, str]:
    """The keyframe image of `camera` with LIDAR_TOP dots and circles of every radar."""
    camera_token = data[camera]
    record = nusc.get("sample_data", camera_token)
    image = cv2.imread(str(Path(nusc.dataroot) / record["filename"]), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read camera image {record['filename']}")
    scale = max(image.shape[1] / 1600, 0.4)
    lidar_uv, lidar_depth = _projected(explorer, data["LIDAR_TOP"], camera_token)
    _draw_points(image, lidar_uv, lidar_depth, radius=max(int(2 * scale), 1), ring=False)
    radar_count = 0
    for radar in radars:
        radar_uv, radar_depth = _projected(explorer, data[radar], camera_token)
        _draw_points(image, radar_uv, radar_depth, radius=max(int(9 * scale), 3), ring=True)
        radar_count += len(radar_depth)
    return image, f"lidar {len(lidar_depth)} pts, radar {radar_count} pts"


def _keyframe(
    dataroot: Path | str, version: str, sample_index: int, nusc: NuScenes | None
) -> tuple[NuScenes, dict]:
    """The loaded tables (`nusc` when given) and the keyframe's channel -> token map."""
    nusc = nusc or NuScenes(version=version, dataroot=str(dataroot), verbose=False)
    if not 0 <= sample_index < len(nusc.sample):
        raise IndexError(f"sample_index {sample_index} out of range: {len(nusc.sample)} samples")
    return nusc, nusc.sample[sample_index]["data"]


def _write_png(out_png: Path | str, picture: np.ndarray) -> Path:
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_png), picture):
        raise OSError(f"cannot write preview {out_png}")
    return out_png


def render_preview(
    dataroot: Path | str,
    version: str,
    out_png: Path | str,
    sample_index: int = 0,
    nusc: NuScenes | None = None,
) -> Path:
    """Write a PNG: the keyframe's CAM_FRONT image with LIDAR_TOP dots and RADAR_FRONT
    circles (coloured by camera depth), and its true depth map beside it when present.

    Pass an already loaded `nusc` to skip reloading the tables.
    """
    nusc, data = _keyframe(dataroot, version, sample_index, nusc)
    image, text = _camera_panel(nusc, NuScenesExplorer(nusc), data, "CAM_FRONT", ["RADAR_FRONT"])
    _label(image, text)
    panels = [image]
    depth_path = Path(nusc.dataroot) / "depth_gt" / f"{data['CAM_FRONT']}.npy"
    if depth_path.exists():
        depth = np.load(depth_path)
        depth_image = np.where((depth > 0)[..., None], colorize_depth(depth), 0).astype(np.uint8)
        _label(depth_image, "true depth")
        panels.append(depth_image)
    return _write_png(out_png, np.hstack(panels))


# nuScenes' usual surround layout: front row left to right, back row as seen from behind.
RIG_LAYOUT = (
    ("CAM_FRONT_LEFT", "CAM_FRONT", "CAM_FRONT_RIGHT"),
    ("CAM_BACK_LEFT", "CAM_BACK", "CAM_BACK_RIGHT"),
)


def render_rig_preview(
    dataroot: Path | str,
    version: str,
    out_png: Path | str,
    sample_index: int = 0,
    nusc: NuScenes | None = None,
) -> Path:
    """Write a 2 x 3 PNG of the six cameras of a full-rig keyframe, each with the lidar
    and every radar projected into it by the devkit."""
    nusc, data = _keyframe(dataroot, version, sample_index, nusc)
    radars = sorted(channel for channel in data if channel.startswith("RADAR_"))
    explorer = NuScenesExplorer(nusc)
    rows = []
    for row in RIG_LAYOUT:
        panels = []
        for camera in row:
            image, text = _camera_panel(nusc, explorer, data, camera, radars)
            _label(image, f"{camera}: {text}")
            panels.append(image)
        rows.append(np.hstack(panels))
    return _write_png(out_png, np.vstack(rows))
