"""The surround picture puts points where they are around the ego, on real arrays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lircdepth.geometry import (
    invert_transform,
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
    render_surround,
    sampled_depth_points,
    save_surround,
)
from lircdepth.synth.config import FULL_CAMERAS, camera_matrix, sensor_rig

WIDTH, HEIGHT = 320, 180
# The synthetic world's full rig: nuScenes-like mounts and intrinsics of the six cameras.
MOUNTS = sensor_rig("full")


def camera(name: str, depth: np.ndarray | None) -> CameraDepth:
    K = camera_matrix(WIDTH, HEIGHT, name)
    return CameraDepth(name, depth, K, MOUNTS[name].T_ego_from_sensor, WIDTH, HEIGHT)


def depth_of(points_ego: np.ndarray, view: CameraDepth) -> np.ndarray:
    """The depth map a camera would see of these ego-frame points (z-buffered)."""
    points = transform_points(invert_transform(view.T_ego_from_camera), points_ego)
    uv, z = project_points(points, view.camera_matrix)
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


@pytest.mark.parametrize("name", FULL_CAMERAS)
def test_depth_back_projects_to_the_ego_point_it_came_from(name):
    view = camera(name, None)
    T = view.T_ego_from_camera
    ahead = np.array([T[0, 2], T[1, 2], 0.0]) / np.hypot(T[0, 2], T[1, 2])
    point = T[:3, 3] + 14.0 * ahead + np.array([0.0, 0.0, -0.8])
    depth = depth_of(point[None], view)
    assert (depth > 0).sum() == 1
    back = transform_points(T, sampled_depth_points(depth, view.camera_matrix, stride=1))
    # Within one pixel's footprint at 14 m (pixel centre vs the true point).
    np.testing.assert_allclose(back[0], point, atol=14.0 / view.camera_matrix[0, 0])


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
    # The wall 20 m along each optical axis: CAM_FRONT's above the ego, CAM_BACK's (facing
    # back) below it; field-of-view lines use dimmed colours.
    assert rows_front.size > 50 and rows_back.size > 50
    for view, rows in zip(views, (rows_front, rows_back), strict=True):
        T = view.T_ego_from_camera
        expected_row = half - (T[0, 3] + wall * T[0, 2]) / bev.metres_per_pixel
        assert abs(np.median(rows) - expected_row) <= 1.5, view.name


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
    names = list(FULL_CAMERAS)
    views = [camera(n, None) for n in names]
    azimuth = camera_azimuth(views[names.index("CAM_FRONT_LEFT")].T_ego_from_camera)
    assert azimuth == pytest.approx(55, abs=2)
    top, bottom = arrange(views)
    assert [names[i] for i in top] == ["CAM_FRONT_LEFT", "CAM_FRONT", "CAM_FRONT_RIGHT"]
    assert [names[i] for i in bottom] == ["CAM_BACK_LEFT", "CAM_BACK", "CAM_BACK_RIGHT"]


def test_surround_picture_of_six_cameras_with_one_silent(tmp_path):
    rng = np.random.default_rng(0)
    views = [
        camera(
            n, None if n == "CAM_BACK" else rng.uniform(2, 60, (HEIGHT, WIDTH)).astype(np.float32)
        )
        for n in FULL_CAMERAS
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
