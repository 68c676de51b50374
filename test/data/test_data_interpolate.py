"""Densification: linear over the samples' triangles (published), or the edge-preserving
nearest fill (option) that keeps edges sharp and invents no depth far from any sample."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import LinearNDInterpolator

from lircdepth.data import storage
from lircdepth.data.interpolate import (
    InterpolationConfig,
    fill_nearest,
    interpolate_depth,
    remove_see_through,
)


def _sparse_step(near=5.0, far=20.0):
    """Left half a near wall, right half a far one, sampled on every 4th pixel."""
    truth = np.full((40, 80), far, dtype=np.float32)
    truth[:, :40] = near
    sparse = np.zeros_like(truth)
    sparse[::4, ::4] = truth[::4, ::4]
    return truth, sparse


def test_nearest_fill_never_blends_two_surfaces():
    truth, sparse = _sparse_step()
    dense = fill_nearest(sparse, max_distance=10)
    assert set(np.unique(dense)) == {5.0, 20.0}
    # the edge moves by at most half the sample spacing
    assert np.all(dense[:, :38] == 5.0) and np.all(dense[:, 42:] == 20.0)


def test_fill_stops_at_the_maximum_distance():
    sparse = np.zeros((50, 50), dtype=np.float32)
    sparse[25, 25] = 7.0
    dense = fill_nearest(sparse, max_distance=3)
    assert dense[25, 28] == 7.0 and dense[25, 30] == 0.0 and dense[0, 0] == 0.0
    assert not fill_nearest(np.zeros((5, 5), np.float32), 3).any()


def test_see_through_points_are_removed_but_the_near_surface_stays():
    depth = np.zeros((30, 30), dtype=np.float32)
    depth[::2, ::2] = 4.0
    depth[15, 15] = 30.0  # background seen through the wall from another frame
    cleaned = remove_see_through(depth, window=5, relative_margin=0.15)
    assert cleaned[15, 15] == 0.0
    assert np.array_equal(cleaned[::2, ::2], depth[::2, ::2])


def test_interpolated_map_matches_true_depth(prepared_root, synth_root):
    errors = []
    for record in storage.read_index(prepared_root / "index" / "train.txt"):
        dense = storage.load_depth_png(prepared_root / record["depth_interp"])
        truth = np.load(synth_root / "depth_gt" / f"{record['camera_token']}.npy")
        valid = (dense > 0) & (truth > 0)
        assert valid.mean() > 0.3
        errors.append(np.abs(dense[valid] - truth[valid]) / truth[valid])
    errors = np.concatenate(errors)
    assert np.median(errors) < 0.02
    assert np.mean(errors < 0.1) > 0.8


def test_nearest_option_scales_with_width_and_keeps_the_edge():
    truth, sparse = _sparse_step()
    dense = interpolate_depth(sparse, InterpolationConfig(method="nearest"))
    assert dense.shape == sparse.shape
    assert set(np.unique(dense)) <= {0.0, 5.0, 20.0}


def test_default_is_linear_interpolation_between_samples():
    """Published "D": linear interpolation, so a gap between two depths gets their blend."""
    sparse = np.zeros((20, 30), dtype=np.float32)
    sparse[[0, 0, 19, 19], [0, 29, 0, 29]] = [10.0, 20.0, 10.0, 20.0]
    dense = interpolate_depth(sparse)
    assert dense[10, 0] == pytest.approx(10.0) and dense[5, 29] == pytest.approx(20.0)
    assert np.allclose(dense[7], 10.0 + 10.0 * np.arange(30) / 29, atol=1e-5)


def test_linear_equals_scipy_linear_nd_interpolator_with_zero_outside_the_hull():
    """Published: points (row, col) in float64, values float64, fill 0. A pixel grid has
    many co-circular samples where the triangulation depends on the coordinate order:
    here 67 pixels differ (up to 29 m) from the same interpolator on (col, row)."""
    rng = np.random.default_rng(3)
    sparse = np.zeros((48, 64), dtype=np.float32)
    sparse.flat[rng.choice(sparse.size, 300, replace=False)] = rng.uniform(2, 60, 300)
    rows, cols = np.nonzero(sparse)
    grid_rows, grid_cols = np.mgrid[0:48, 0:64]
    values = sparse[rows, cols].astype(np.float64)
    reference = LinearNDInterpolator(
        np.column_stack([rows, cols]).astype(np.float64), values, fill_value=0.0
    )
    expected = reference(grid_rows.ravel().astype(np.float64), grid_cols.ravel())
    swapped = LinearNDInterpolator(
        np.column_stack([cols, rows]).astype(np.float64), values, fill_value=0.0
    )(grid_cols.ravel().astype(np.float64), grid_rows.ravel())
    dense = interpolate_depth(sparse)
    assert np.array_equal(dense, expected.reshape(48, 64).astype(np.float32))
    assert (np.abs(dense - swapped.reshape(48, 64)) > 1e-4).sum() == 67
    assert (dense == 0).any() and (dense[rows, cols] == sparse[rows, cols]).all()


def test_linear_with_too_few_samples_is_empty_and_bad_method_is_named():
    line = np.zeros((10, 10), dtype=np.float32)
    line[3, 2:8] = 5.0  # all samples on one line: no triangle
    assert not interpolate_depth(line).any()
    with pytest.raises(ValueError, match="densify"):
        interpolate_depth(line, InterpolationConfig(method="cubic"))
