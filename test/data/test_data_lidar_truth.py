"""Lidar depth maps of the prepared synthetic world against its true dense depth."""

from __future__ import annotations

import numpy as np

from lircdepth.data import storage
from lircdepth.data.accumulate import SceneLidar, depth_map
from lircdepth.data.nusc_sources import SensorPoses, open_nuscenes
from lircdepth.data.prepare import scene_keyframes


def _records(prepared_root):
    seen = {}
    for split in ("train", "val", "test"):
        for record in storage.read_index(prepared_root / "index" / f"{split}.txt"):
            seen[record["camera_token"]] = record
    return list(seen.values())


def _relative_errors(prepared_root, synth_root, name):
    errors, in_front = [], []
    for record in _records(prepared_root):
        depth = storage.load_depth_png(prepared_root / record[name])
        truth = np.load(synth_root / "depth_gt" / f"{record['camera_token']}.npy")
        valid = (depth > 0) & (truth > 0)
        errors.append(np.abs(depth[valid] - truth[valid]) / truth[valid])
        in_front.append((truth[valid] - depth[valid]) > 0.05 * truth[valid])
    return np.concatenate(errors), np.concatenate(in_front)


def test_every_keyframe_is_indexed(prepared_root):
    assert len(_records(prepared_root)) == 12


def test_single_scan_matches_true_depth(prepared_root, synth_root):
    errors, _ = _relative_errors(prepared_root, synth_root, "lidar_single")
    assert len(errors) > 5000
    assert np.median(errors) < 0.005
    assert np.mean(errors < 0.02) > 0.95


def test_accumulated_agrees_on_static_surfaces_and_leaves_no_trails(prepared_root, synth_root):
    errors, in_front = _relative_errors(prepared_root, synth_root, "lidar_accum")
    single, _ = _relative_errors(prepared_root, synth_root, "lidar_single")
    assert len(errors) > 3 * len(single)  # accumulation really adds points
    assert np.median(errors) < 0.01
    assert np.mean(errors < 0.05) > 0.85
    # A trail is a point in front of the true surface: a moving object seen elsewhere.
    assert in_front.mean() < 0.005


def _trail_fraction(synth_root, movable_prefixes):
    nusc = open_nuscenes(synth_root, "v1.0-mini")
    poses = SensorPoses(nusc)
    trails = []
    for scene in nusc.scene:
        samples = scene_keyframes(nusc, scene)
        tokens = [s["data"]["LIDAR_TOP"] for s in samples]
        lidar = SceneLidar.load(nusc, poses, tokens, movable_prefixes, 0.3, window=30)
        for k, sample in enumerate(samples):
            camera = sample["data"]["CAM_FRONT"]
            points = lidar.in_camera(k, 30, poses.sensor_from_global(camera))
            depth = depth_map(points, poses.camera_matrix(camera), 388, 704)
            truth = np.load(synth_root / "depth_gt" / f"{camera}.npy")
            valid = (depth > 0) & (truth > 0)
            trails.append((truth[valid] - depth[valid]) > 0.05 * truth[valid])
    return np.concatenate(trails).mean()


def test_without_box_removal_moving_agents_do_leave_trails(synth_root):
    """Control: the trail measure above does detect trails when removal is off."""
    assert _trail_fraction(synth_root, ("no-such-category",)) > 0.01
    assert _trail_fraction(synth_root, ("vehicle.", "human.")) < 0.005
