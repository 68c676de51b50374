"""The surround picture: every camera's predicted depth around a bird's-eye view.

Each camera's depth map is back-projected through its intrinsics and its camera -> ego
mount, so the bird's-eye view shows where the cameras put the world, fused in one ego
frame, over the lidar (grey) and the radar points (white rings). The depth maps sit
around it where their cameras look: front cameras above, rear cameras below, each row
ordered as seen from above (left of the vehicle on the left). Ego frame: x forward,
y left, z up; the vehicle sits in the middle with x pointing up the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from lircdepth.atomic import write_atomic
from lircdepth.geometry import backproject_depth, transform_points
from lircdepth.visualize import colorize

BACKGROUND = (24, 24, 28)
LIDAR_COLOUR = (120, 120, 120)
RADAR_COLOUR = (255, 255, 255)
RING_COLOUR = (60, 60, 66)
EGO_COLOUR = (230, 230, 230)
# One colour per camera (RGB), the same for its tile frame, its points and its field of view.
CAMERA_COLOURS = (
    (255, 99, 71),
    (60, 179, 113),
    (65, 145, 255),
    (255, 200, 40),
    (200, 90, 230),
    (40, 210, 220),
    (255, 140, 200),
    (170, 200, 90),
)
# nuScenes' ego vehicle (base_link at the rear axle): metres behind / ahead of it, half width.
EGO_REAR, EGO_FRONT, EGO_HALF_WIDTH = 1.0, 3.7, 0.95
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class CameraDepth:
    """One camera's predicted depth (None: the camera gave none) and its calibration."""

    name: str
    depth: np.ndarray | None
    camera_matrix: np.ndarray
    T_ego_from_camera: np.ndarray
    width: int
    height: int


@dataclass(frozen=True)
class BirdsEye:
    """A square top view `size_px` wide reaching `range_m` metres from the ego to each edge."""

    range_m: float = 50.0
    size_px: int = 600

    @property
    def metres_per_pixel(self) -> float:
        return 2.0 * self.range_m / self.size_px

    def coordinates(self, points_ego: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, rows) as floats, unclipped, of N x 2+ ego points: x up, y to the left."""
        points = np.asarray(points_ego, dtype=np.float64)
        half = self.size_px / 2.0
        return half - points[:, 1] / self.metres_per_pixel, half - points[
            :, 0
        ] / self.metres_per_pixel

    def pixels(self, points_ego: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(columns, rows, inside): the pixel of each point, (0, 0) where it is outside."""
        cols, rows = (np.floor(c) for c in self.coordinates(points_ego))
        with np.errstate(invalid="ignore"):
            inside = (cols >= 0) & (cols < self.size_px) & (rows >= 0) & (rows < self.size_px)
        return (
            np.where(inside, cols, 0).astype(np.int64),
            np.where(inside, rows, 0).astype(np.int64),
            inside,
        )


def sampled_depth_points(
    depth: np.ndarray, camera_matrix: np.ndarray, stride: int = 4, max_depth: float | None = None
) -> np.ndarray:
    """N x 3 camera-frame points of every `stride`-th pixel with a depth in (0, max_depth)
    (`geometry.backproject_depth`: pixel (u, v) is the point whose projection rounds to it)."""
    points = backproject_depth(np.asarray(depth, dtype=np.float32), camera_matrix)
    points = points[::stride, ::stride].reshape(-1, 3).astype(np.float64)
    z = points[:, 2]
    keep = np.isfinite(z) & (z > 0)
    if max_depth is not None:
        keep &= z < max_depth
    return points[keep]


def camera_azimuth(T_ego_from_camera: np.ndarray) -> float:
    """Direction of the optical axis in the ego frame, degrees (0 ahead, 90 to the left)."""
    axis = np.asarray(T_ego_from_camera)[:3, 2]
    return float(np.degrees(np.arctan2(axis[1], axis[0])))


def arrange(cameras: Sequence[CameraDepth]) -> tuple[list[int], list[int]]:
    """Indices of the cameras for the top row (looking ahead) and the bottom row (behind),
    each ordered left to right as the bird's-eye view shows them."""
    azimuths = [camera_azimuth(c.T_ego_from_camera) for c in cameras]
    front = [i for i, a in enumerate(azimuths) if abs(a) <= 90.0]
    back = [i for i, a in enumerate(azimuths) if abs(a) > 90.0]
    front.sort(key=lambda i: -azimuths[i])
    back.sort(key=lambda i: azimuths[i] % 360.0)
    return front, back


def _blank(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), BACKGROUND, np.uint8)


def _colour(index: int) -> tuple[int, int, int]:
    return CAMERA_COLOURS[index % len(CAMERA_COLOURS)]


def _text(image: np.ndarray, text: str, origin: tuple[int, int], colour, scale: float = 0.45):
    cv2.putText(image, text, origin, FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, scale, colour, 1, cv2.LINE_AA)


def _tile(camera: CameraDepth, colour, width: int, max_depth: float) -> np.ndarray:
    height = max(1, round(width * camera.height / camera.width))
    tile: np.ndarray
    if camera.depth is None:
        tile = np.full((height, width, 3), 50, np.uint8)
        _text(tile, "no depth", (width // 2 - 36, height // 2), (230, 230, 230), 0.5)
    else:
        tile = cv2.resize(
            colorize(camera.depth, max_depth), (width, height), interpolation=cv2.INTER_NEAREST
        )
    cv2.rectangle(tile, (0, 0), (width - 1, height - 1), colour, 3)
    _text(tile, camera.name, (8, 18), colour)
    return tile


def _draw_frame(canvas: np.ndarray, bev: BirdsEye) -> None:
    """Range rings every 10 m with their distance, and the ego vehicle."""
    half = bev.size_px // 2
    for ring in range(10, int(bev.range_m) + 1, 10):
        radius = int(round(ring / bev.metres_per_pixel))
        cv2.circle(canvas, (half, half), radius, RING_COLOUR, 1, cv2.LINE_AA)
        _text(canvas, f"{ring} m", (half + 3, half - radius + 12), (110, 110, 120), 0.35)
    corners = np.array(
        [
            [EGO_FRONT, EGO_HALF_WIDTH],
            [EGO_FRONT, -EGO_HALF_WIDTH],
            [-EGO_REAR, -EGO_HALF_WIDTH],
            [-EGO_REAR, EGO_HALF_WIDTH],
        ]
    )
    cols, rows, _ = bev.pixels(corners)
    cv2.polylines(canvas, [np.stack([cols, rows], 1).astype(np.int32)], True, EGO_COLOUR, 2)


def _draw_field_of_view(canvas: np.ndarray, bev: BirdsEye, camera: CameraDepth, colour) -> None:
    """The two side edges of the camera's view, from the camera out to the range."""
    k_inv = np.linalg.inv(np.asarray(camera.camera_matrix, dtype=np.float64))
    centre_row = camera.height / 2.0
    rays = (k_inv @ np.array([[0.0, centre_row, 1.0], [camera.width, centre_row, 1.0]]).T).T
    ends = rays / np.linalg.norm(rays, axis=1, keepdims=True) * bev.range_m * 1.5
    origin = np.asarray(camera.T_ego_from_camera)[:3, 3]
    ends = transform_points(camera.T_ego_from_camera, ends)
    cols, rows = (np.round(c).astype(int) for c in bev.coordinates(np.vstack([origin, ends])))
    dim = tuple(int(c * 0.45) for c in colour)
    for end in (1, 2):
        cv2.line(canvas, (cols[0], rows[0]), (cols[end], rows[end]), dim, 1, cv2.LINE_AA)


def _scatter(canvas: np.ndarray, bev: BirdsEye, points_ego: np.ndarray | None, colour) -> None:
    if points_ego is None or len(points_ego) == 0:
        return
    cols, rows, inside = bev.pixels(points_ego)
    canvas[rows[inside], cols[inside]] = colour


def birds_eye_view(
    cameras: Sequence[CameraDepth],
    radar_ego: np.ndarray | None = None,
    lidar_ego: np.ndarray | None = None,
    bev: BirdsEye = BirdsEye(),
    max_depth: float = 80.0,
    stride: int = 4,
) -> np.ndarray:
    """The top view alone (size x size x 3 RGB): lidar, each camera's points, radar on top."""
    canvas = _blank(bev.size_px, bev.size_px)
    _draw_frame(canvas, bev)
    for index, camera in enumerate(cameras):
        _draw_field_of_view(canvas, bev, camera, _colour(index))
    _scatter(canvas, bev, lidar_ego, LIDAR_COLOUR)
    for index, camera in enumerate(cameras):
        if camera.depth is not None:
            points = sampled_depth_points(camera.depth, camera.camera_matrix, stride, max_depth)
            _scatter(
                canvas, bev, transform_points(camera.T_ego_from_camera, points), _colour(index)
            )
    if radar_ego is not None and len(radar_ego):
        cols, rows, inside = bev.pixels(radar_ego)
        for col, row in zip(cols[inside], rows[inside], strict=True):
            cv2.circle(canvas, (int(col), int(row)), 3, RADAR_COLOUR, 1, cv2.LINE_8)
    return canvas


def _row(tiles: list[np.ndarray], width: int) -> np.ndarray | None:
    if not tiles:
        return None
    height = max(t.shape[0] for t in tiles)
    row = _blank(height, width)
    left = (width - sum(t.shape[1] for t in tiles)) // 2
    for tile in tiles:
        row[: tile.shape[0], left : left + tile.shape[1]] = tile
        left += tile.shape[1]
    return row


def render_surround(
    cameras: Sequence[CameraDepth],
    radar_ego: np.ndarray | None = None,
    lidar_ego: np.ndarray | None = None,
    bev: BirdsEye = BirdsEye(),
    max_depth: float = 80.0,
    tile_width: int = 300,
    stride: int = 4,
    title: str | None = None,
) -> np.ndarray:
    """The whole picture as H x W x 3 RGB: depth tiles above and below the top view."""
    if not cameras:
        raise ValueError("the surround picture needs at least one camera")
    top, bottom = arrange(cameras)
    width = max(bev.size_px + 2 * 150, tile_width * max(len(top), len(bottom)))
    tiles = {i: _tile(c, _colour(i), tile_width, max_depth) for i, c in enumerate(cameras)}
    middle = _blank(bev.size_px, width)
    left = (width - bev.size_px) // 2
    middle[:, left : left + bev.size_px] = birds_eye_view(
        cameras, radar_ego, lidar_ego, bev, max_depth, stride
    )
    legend = [("lidar", LIDAR_COLOUR), ("radar", RADAR_COLOUR)]
    legend += [(c.name, _colour(i)) for i, c in enumerate(cameras)]
    for line, (label, colour) in enumerate(legend):
        _text(middle, label, (10, 24 + 20 * line), colour)
    _text(
        middle,
        f"rings every 10 m, {bev.range_m:g} m to the edge",
        (10, bev.size_px - 12),
        (150, 150, 160),
        0.38,
    )
    rows = [_row([tiles[i] for i in top], width), middle, _row([tiles[i] for i in bottom], width)]
    picture = np.concatenate([r for r in rows if r is not None], axis=0)
    if title:
        band = _blank(28, width)
        _text(band, title, (10, 19), (230, 230, 230), 0.5)
        picture = np.concatenate([band, picture], axis=0)
    return picture


def save_surround(picture: np.ndarray, path) -> None:
    """Write the RGB picture as a PNG atomically (a reader never sees half a file)."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode the surround picture for {path}")
    write_atomic(path, encoded.tobytes())
