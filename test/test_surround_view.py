"""The surround picture puts points where they are around the ego, on real arrays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lircdepth.geometry import (
    invert_transform,
    make_transform,
    project_points,
    rasterize_depth,
    transform_points,
)
from lircdepth.surround_view import (
    BACKGROUND,
    LIDAR_COLOUR,
    RADAR_COLOUR,
    BirdsEye,
    CameraDepth,
    arrange,
    birds_eye_view,
    camera_azimuth,
    depth_points,
    render_surround,
    save_surround,
)

# Optical frame (x right, y down, z ahead) in a forward-looking ego frame.
OPTICAL_TO_FORWARD = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
WIDTH, HEIGHT = 320, 180
K = np.array([[250.0, 0.0, 161.3], [0.0, 250.0, 92.4], [0.0, 0.0, 1.0]])
# nuScenes-like yaw of each camera (degrees, 0 ahead, positive to the left) and its mount.
RIG = {
    "CAM_FRONT": (0.0, [1.7, 0.0, 1.5]),
    "CAM_FRONT_LEFT": (55.0, [1.5, 0.5, 1.5]),
    "CAM_FRONT_RIGHT": (-55.0, [1.5, -0.5, 1.5]),
    "CAM_BACK": (180.0, [0.0, 0.0, 1.5]),
    "CAM_BACK_LEFT": (110.0, [1.0, 0.5, 1.5]),
    "CAM_BACK_RIGHT": (-110.0, [1.0, -0.5, 1.5]),
}


def mount(yaw_degrees: float, translation) -> np.ndarray:
    yaw = np.radians(yaw_degrees)
    rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    return make_transform(rz @ OPTICAL_TO_FORWARD, translation)


def camera(name: str, depth: np.ndarray | None) -> CameraDepth:
    yaw, translation = RIG[name]
    return CameraDepth(name, depth, K, mount(yaw, translation), WIDTH, HEIGHT)


def depth_of(points_ego: np.ndarray, T_ego_from_camera: np.ndarray) -> np.ndarray:
    """The depth map a camera would see of these ego-frame points (z-buffered)."""
    points = transform_points(invert_transform(T_ego_from_camera), points_ego)
    uv, z = project_points(points, K)
    return rasterize_depth(uv, z, HEIGHT, WIDTH, min_depth=0.1)


def test_a_known_ego_position_lands_on_its_pixel():
    bev = BirdsEye(range_m=50.0, size_px=500)  # 0.2 m per pixel, ego at pixel (250, 250)
    cols, rows, inside = bev.pixels(
        np.array([[10.0, 5.0], [-20.0, -10.0], [0.0, 0.0], [60.0, 0.0]])
    )
    assert inside.tolist() == [True, True, True, False]
    assert (cols[:3].tolist(), rows[:3].tolist()) == ([225, 300, 250], [200, 350, 250])
    picture = birds_eye_view([], lidar_ego=np.array([[10.0, 5.0, 0.3]]), bev=bev)
    assert tuple(picture[200, 225]) == LIDAR_COLOUR
    assert (picture == LIDAR_COLOUR).all(axis=2).sum() == 1


@pytest.mark.parametrize("name", sorted(RIG))
def test_depth_back_projects_to_the_ego_point_it_came_from(name):
    T = camera(name, None).T_ego_from_camera
    yaw = np.radians(RIG[name][0])
    ahead = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    point = np.asarray(RIG[name][1]) + 14.0 * ahead + np.array([0.0, 0.0, -0.8])
    depth = depth_of(point[None], T)
    assert (depth > 0).sum() == 1
    back = transform_points(T, depth_points(depth, K, stride=1))
    # Within one pixel's footprint at 14 m (pixel centre vs the true point).
    np.testing.assert_allclose(back[0], point, atol=14.0 / K[0, 0])


def test_each_camera_paints_its_own_side_of_the_ego():
    bev = BirdsEye(range_m=40.0, size_px=400)
    wall = 20.0
    views = []
    for name in ("CAM_FRONT", "CAM_BACK"):
        views.append(camera(name, np.full((HEIGHT, WIDTH), wall, np.float32)))
    picture = birds_eye_view(views, bev=bev, stride=2)
    front_colour, back_colour = (tuple(c) for c in _camera_colours(2))
    front = (picture == front_colour).all(axis=2)
    back = (picture == back_colour).all(axis=2)
    rows_front, rows_back = np.nonzero(front)[0], np.nonzero(back)[0]
    half = bev.size_px // 2
    # The wall 20 m along each optical axis: CAM_FRONT's (at x = 1.7) above the ego, CAM_BACK's
    # (at x = 0, facing back) below it; field-of-view lines use dimmed colours.
    assert rows_front.size > 50 and rows_back.size > 50
    expected_front_row = half - (1.7 + wall) / bev.metres_per_pixel
    assert abs(np.median(rows_front) - expected_front_row) <= 1
    assert abs(np.median(rows_back) - (half + wall / bev.metres_per_pixel)) <= 1


def _camera_colours(count: int):
    from lircdepth.surround_view import CAMERA_COLOURS

    return CAMERA_COLOURS[:count]


def test_radar_points_are_drawn_as_rings_on_top():
    bev = BirdsEye(range_m=50.0, size_px=500)
    radar = np.array([[30.0, -4.0, 0.5]])
    picture = birds_eye_view([], radar_ego=radar, lidar_ego=radar, bev=bev)
    cols, rows, _ = bev.pixels(radar)
    ring = picture[rows[0] - 4 : rows[0] + 5, cols[0] - 4 : cols[0] + 5]
    assert (ring == RADAR_COLOUR).all(axis=2).sum() >= 8


def test_cameras_are_arranged_as_seen_from_above():
    names = list(RIG)
    views = [camera(n, None) for n in names]
    assert camera_azimuth(views[names.index("CAM_FRONT_LEFT")].T_ego_from_camera) == pytest.approx(
        55
    )
    top, bottom = arrange(views)
    assert [names[i] for i in top] == ["CAM_FRONT_LEFT", "CAM_FRONT", "CAM_FRONT_RIGHT"]
    assert [names[i] for i in bottom] == ["CAM_BACK_LEFT", "CAM_BACK", "CAM_BACK_RIGHT"]


def test_surround_picture_of_six_cameras_with_one_silent(tmp_path):
    rng = np.random.default_rng(0)
    views = [
        camera(
            n, None if n == "CAM_BACK" else rng.uniform(2, 60, (HEIGHT, WIDTH)).astype(np.float32)
        )
        for n in RIG
    ]
    lidar = rng.uniform(-40, 40, (2000, 3))
    picture = render_surround(
        views, radar_ego=lidar[:50], lidar_ego=lidar, tile_width=200, title="t"
    )
    path = tmp_path / "surround.png"
    save_surround(picture, path)
    back = cv2.imread(str(path))
    assert back.shape == picture.shape and back.shape[1] >= 600
    # Three tiles of 200 x 112 above and below a 600-pixel top view, under a 28-pixel title.
    assert back.shape[0] == 28 + 112 + 600 + 112
    # CAM_BACK (bottom row, middle) is the grey "no depth" tile.
    tile = picture[
        28 + 112 + 600 + 40 : 28 + 112 + 600 + 70,
        picture.shape[1] // 2 - 90 : picture.shape[1] // 2 - 50,
    ]
    assert (tile == 50).all()
    assert not (picture == BACKGROUND).all()
