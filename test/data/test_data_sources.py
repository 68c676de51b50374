"""Inputs as published: every radar point, lidar accumulated over the 20 Hz sweep chain
(the keyframe chain for the test split)."""

from __future__ import annotations

import numpy as np
import pytest
from nuscenes.utils.data_classes import RadarPointCloud

from lircdepth.data.accumulate import SceneLidar, sweep_chain
from lircdepth.data.boxes import image_boxes
from lircdepth.data.nusc_sources import SensorPoses, load_radar, open_nuscenes
from lircdepth.data.prepare import (
    PrepareConfig,
    accumulation_chains,
    accumulation_windows,
    scene_keyframes,
)
from lircdepth.data.radar import RadarOptions, radar_points, radar_sample_data


def _radar_files(synth_root):
    return sorted((synth_root / "samples" / "RADAR_FRONT").glob("*.pcd"))


def test_radar_reads_every_point_like_disable_filters(synth_root):
    files = _radar_files(synth_root)
    try:
        RadarPointCloud.disable_filters()
        every = [RadarPointCloud.from_file(str(f)).points for f in files]
    finally:
        RadarPointCloud.default_filters()
    for path, expected in zip(files, every, strict=True):
        assert np.array_equal(load_radar(path), expected)
    filtered = [load_radar(path, "devkit").shape[1] for path in files]
    assert filtered == [RadarPointCloud.from_file(str(f)).nbr_points() for f in files]
    assert sum(filtered) < sum(points.shape[1] for points in every)


def test_prepared_radar_points_include_what_the_devkit_filters_drop(synth_root):
    nusc = open_nuscenes(synth_root, "v1.0-mini")
    poses = SensorPoses(nusc)
    counts = {"none": 0, "devkit": 0}
    for sample in nusc.sample:
        camera = sample["data"]["CAM_FRONT"]
        record = nusc.get("sample_data", camera)
        size = (record["width"], record["height"])
        _, rows = image_boxes(
            nusc.get_boxes(camera),
            poses.sensor_from_global(camera),
            poses.camera_matrix(camera),
            *size,
        )
        for filters in counts:
            options = RadarOptions(filters=filters)
            points = radar_points(
                nusc,
                poses,
                radar_sample_data(nusc, sample, options),
                lambda token, f=filters: load_radar(poses.path(token), f),
                camera,
                rows,
                size,
                options,
            )
            counts[filters] += len(points)
    assert counts["none"] > counts["devkit"] > 0


def test_accumulation_walks_the_lidar_sweep_chain(synth_root):
    nusc = open_nuscenes(synth_root, "v1.0-mini")
    poses = SensorPoses(nusc)
    samples = scene_keyframes(nusc, nusc.scene[0])
    tokens = [s["data"]["LIDAR_TOP"] for s in samples]
    chain, places = sweep_chain(nusc, tokens)
    assert [chain[p] for p in places] == tokens
    assert np.all(np.diff(places) >= 8)  # 20 Hz lidar, 2 Hz keyframes: ~10 sweeps apart
    assert not any(nusc.get("sample_data", t)["is_key_frame"] for t in np.delete(chain, places))
    lidar = SceneLidar.load(nusc, poses, tokens, ("vehicle.", "human."), 0.3, window=3)
    k = 1
    assert sorted(lidar.sweeps) == sorted(
        {j for p in places for j in range(max(0, p - 3), min(len(chain), p + 4))}
    )
    camera = poses.sensor_from_global(samples[k]["data"]["CAM_FRONT"])
    single = lidar.in_camera(k, 0, camera)
    stacked = lidar.in_camera(k, 3, camera)
    own = lidar.sweeps[places[k]]
    assert len(single) == len(own.points)
    neighbours = [
        lidar.sweeps[j].static for j in range(places[k] - 3, places[k] + 4) if j != places[k]
    ]
    assert len(stacked) == len(own.points) + sum(map(len, neighbours))


@pytest.fixture
def scenes_and_splits(synth_root) -> tuple[list[dict], dict[str, list[str]]]:
    """The synthetic scenes, and splits in which only the last scene is in `test` alone."""
    scenes = list(open_nuscenes(synth_root, "v1.0-mini").scene)
    names = [s["name"] for s in scenes]
    return scenes, {"train": names[:1], "val": names[1:2], "test": names[1:]}


def test_scenes_only_in_the_test_split_use_the_test_window(synth_root, scenes_and_splits):
    scenes, splits = scenes_and_splits
    windows = accumulation_windows(PrepareConfig(dataroot=synth_root), scenes, splits)
    assert [windows[s["token"]] for s in scenes] == [80, 80, 24]


def test_test_split_window_walks_the_keyframe_chain(synth_root):
    """Published test set-up: +/- N keyframes (sample.next/prev), not N lidar sweeps."""
    nusc = open_nuscenes(synth_root, "v1.0-mini")
    poses = SensorPoses(nusc)
    samples = scene_keyframes(nusc, nusc.scene[0])
    tokens = [s["data"]["LIDAR_TOP"] for s in samples]
    lidar = SceneLidar.load(
        nusc, poses, tokens, ("vehicle.", "human."), 0.3, window=1, window_chain="keyframes"
    )
    assert sorted(lidar.sweeps) == list(range(len(tokens)))  # keyframe sweeps only
    assert lidar.keyframe_places == list(range(len(tokens)))
    k = 1
    camera = poses.sensor_from_global(samples[k]["data"]["CAM_FRONT"])
    stacked = lidar.in_camera(k, 1, camera)
    # keyframe 1's every point and the static points of keyframes 0 and 2
    expected = len(lidar.sweeps[1].points) + len(lidar.sweeps[0].static)
    assert len(stacked) == expected + len(lidar.sweeps[2].static)
    for j in (0, 2):
        assert np.array_equal(
            lidar.sweeps[j].global_from_sensor, poses.global_from_sensor(tokens[j])
        )


def test_test_only_scenes_count_keyframes_by_default(synth_root, scenes_and_splits):
    scenes, splits = scenes_and_splits
    chains = accumulation_chains(PrepareConfig(dataroot=synth_root), scenes, splits)
    assert [chains[s["token"]] for s in scenes] == ["sweeps", "sweeps", "keyframes"]
    config = PrepareConfig(dataroot=synth_root, accumulate_test_chain="sweeps")
    assert set(accumulation_chains(config, scenes, splits).values()) == {"sweeps"}
