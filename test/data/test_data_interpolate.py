"""Densification keeps edges sharp and does not invent depth far from any sample."""

from __future__ import annotations

import numpy as np

from lircdepth.data import storage
from lircdepth.data.interpolate import fill_nearest, interpolate_depth, remove_see_through


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


def test_interpolate_depth_scales_with_width():
    _, sparse = _sparse_step()
    assert interpolate_depth(sparse).shape == sparse.shape
