"""The shared projection / z-buffer functions, against values worked out by hand."""

import numpy as np
import pytest

from lircdepth import geometry


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[0] >= 0 else -q
        r = geometry.quaternion_to_matrix(q)
        assert np.allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.allclose(geometry.matrix_to_quaternion(r), q, atol=1e-9)


def test_transform_inverse_and_points():
    t = geometry.make_transform([np.cos(0.3), 0, 0, np.sin(0.3)], [1.0, 2.0, 3.0])
    pts = np.array([[1.0, 0.0, 0.0], [0.0, 5.0, -1.0]])
    back = geometry.transform_points(
        geometry.invert_transform(t), geometry.transform_points(t, pts)
    )
    assert np.allclose(back, pts)
    # a 90 degree yaw maps x to y
    yaw90 = geometry.make_transform([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)], [0, 0, 0])
    assert np.allclose(geometry.transform_points(yaw90, [[1.0, 0, 0]]), [[0, 1.0, 0]])


def test_rasterize_depth_nearest_wins_and_bounds():
    k = np.array([[10.0, 0, 5.0], [0, 10.0, 4.0], [0, 0, 1]])
    pts = np.array(
        [
            [0.0, 0.0, 10.0],  # -> (5, 4), depth 10
            [0.0, 0.0, 4.0],  # same pixel, nearer: wins
            [0.0, 0.0, -3.0],  # behind camera
            [100.0, 0.0, 1.0],  # far outside
            [0.2, 0.1, 2.0],  # -> (6, 4.5) rounds to (6, 4)
        ]
    )
    uv, depth = geometry.project_points(pts, k)
    m = geometry.rasterize_depth(uv, depth, height=8, width=10)
    assert m.dtype == np.float32 and m.shape == (8, 10)
    assert m[4, 5] == pytest.approx(4.0)
    assert m[4, 6] == pytest.approx(2.0)
    assert np.count_nonzero(m) == 2


def test_rasterize_radar_rules():
    pts = np.array(
        [
            # u,   v,   depth, rcs, vx,  vy
            [4.9, 4.4, 10.0, 3.0, -1.0, 0.5],  # pixel (row 4, col 5)
            [5.2, 3.7, 20.0, 7.0, 1.0, 2.0],  # same pixel, later and farther: wins (last)
            [1.0, 3.0, 5.0, 1.0, 1.0, 1.0],  # u == 1: on the border, dropped
            [6.0, 3.0, 0.9, 1.0, 1.0, 1.0],  # depth <= 1 m: dropped
            [8.0, 2.0, 30.0, -5.0, 0.0, 0.0],  # kept
        ]
    )
    m = geometry.rasterize_radar(pts, height=8, width=10)
    assert m.shape == (4, 8, 10)
    assert np.allclose(m[:, 4, 5], [20.0, 7.0, 1.0, 2.0])
    assert np.allclose(m[:, 2, 8], [30.0, -5.0, 0.0, 0.0])
    assert np.count_nonzero(m[0]) == 2
    with pytest.raises(ValueError, match="N x 6"):
        geometry.rasterize_radar(pts[:, :4], 8, 10)


def test_rasterize_radar_nearest_rule_keeps_the_nearer_point():
    pts = np.array([[4.9, 4.4, 10.0, 3.0, -1.0, 0.5], [5.2, 3.7, 20.0, 7.0, 1.0, 2.0]])
    nearest = geometry.rasterize_radar(pts, 8, 10, rule="nearest")
    assert np.allclose(nearest[:, 4, 5], [10.0, 3.0, -1.0, 0.5])
    reversed_order = geometry.rasterize_radar(pts[::-1].copy(), 8, 10, rule="last")
    assert np.allclose(reversed_order[:, 4, 5], [10.0, 3.0, -1.0, 0.5])
    with pytest.raises(ValueError, match="radar rule"):
        geometry.rasterize_radar(pts, 8, 10, rule="first")


def test_last_rule_over_many_points_matches_a_loop():
    rng = np.random.default_rng(0)
    pts = np.column_stack(
        [rng.uniform(0, 12, (300, 2)), rng.uniform(0.5, 40, 300), rng.normal(size=(300, 3))]
    )
    expected = np.zeros((4, 10, 12), np.float32)
    for u, v, *values in pts:
        if values[0] > 1 and 1 < u < 11 and 1 < v < 9:
            expected[:, int(np.round(v)), int(np.round(u))] = values
    assert np.array_equal(geometry.rasterize_radar(pts, 10, 12), expected)


def test_rasterize_radar_empty():
    m = geometry.rasterize_radar(np.zeros((0, 6)), 4, 4)
    assert not m.any()
