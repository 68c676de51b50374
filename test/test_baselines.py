"""The trivial baselines on a tiny hand-made prepared dataset, numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lircdepth import pipeline
from lircdepth.baselines import evaluate_baselines, mean_lidar_map, nearest_radar_depth
from lircdepth.bench import ablation
from lircdepth.data import storage
from lircdepth.stage_clock import StageClock

HEIGHT, WIDTH = 32, 64  # a multiple of 32: the evaluation frame is the whole image


def _sample(root, token, lidar, radar_points):
    """Write one prepared sample (every file the Dataset reads) and return its record."""
    empty = np.zeros((HEIGHT, WIDTH), np.float32)
    record = {
        "scene_token": "s",
        "scene_name": "scene",
        "sample_token": f"x{token}",
        "camera": "CAM",
        "camera_token": token,
        "lidar_token": f"l{token}",
        "timestamp": 0,
        "width": WIDTH,
        "height": HEIGHT,
        "camera_matrix": np.eye(3).tolist(),
        "image": f"image/{token}.png",
        "radar": f"radar/{token}.npy",
        "boxes": f"boxes/{token}.npy",
        "lidar_single": f"lidar_single/{token}.png",
        "lidar_accum": f"lidar_accum/{token}.png",
        "depth_interp": f"depth_interp/{token}.png",
        "assoc_label": f"assoc_label/{token}.png",
    }
    storage.save_label_png(root / record["image"], np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    storage.save_npy(root / record["radar"], np.asarray(radar_points, np.float32).reshape(-1, 7))
    storage.save_npy(root / record["boxes"], np.zeros((0, 4), np.float32))
    storage.save_depth_png(root / record["lidar_single"], lidar)
    for name in ("lidar_accum", "depth_interp"):
        storage.save_depth_png(root / record[name], empty)
    storage.save_label_png(root / record["assoc_label"], empty.astype(np.uint8))
    return record


@pytest.fixture
def tiny_prepared(tmp_path):
    a = np.zeros((HEIGHT, WIDTH), np.float32)
    b = np.zeros((HEIGHT, WIDTH), np.float32)
    a[10, 10], b[10, 10] = 10.0, 20.0  # seen twice: mean 15
    b[20, 40] = 30.0  # seen once
    # all training lidar: 10, 20, 30 -> 20 where no training frame saw anything
    test = np.zeros((HEIGHT, WIDTH), np.float32)
    test[10, 10], test[20, 40], test[5, 5] = 17.0, 27.0, 26.0
    radar = [[10.0, 10.0, 16.0, 0, 0, 0, 0], [50.0, 20.0, 24.0, 0, 0, 0, 0]]
    index = tmp_path / "index"
    storage.write_index(
        index / "train.txt",
        [_sample(tmp_path, "a", a, []), _sample(tmp_path, "b", b, [])],
    )
    storage.write_index(index / "test.txt", [_sample(tmp_path, "t", test, radar)])
    return tmp_path


def test_mean_lidar_map_by_hand(tiny_prepared):
    mean = mean_lidar_map(tiny_prepared)
    assert mean.shape == (HEIGHT, WIDTH)
    assert mean[10, 10] == 15.0 and mean[20, 40] == 30.0
    assert mean[5, 5] == 20.0 and mean[0, 63] == 20.0  # unseen: the mean of all values


def test_nearest_radar_depth_by_hand():
    radar = np.zeros((HEIGHT, WIDTH), np.float32)
    radar[10, 10], radar[20, 50] = 16.0, 24.0
    filled = nearest_radar_depth(radar)
    assert filled[10, 10] == 16.0 and filled[5, 5] == 16.0  # nearest: (10, 10)
    assert filled[20, 40] == 24.0 and filled[31, 63] == 24.0  # nearest: (20, 50)
    assert not nearest_radar_depth(np.zeros((4, 4), np.float32)).any()


def test_baselines_are_scored_like_the_networks(tiny_prepared):
    results = evaluate_baselines(tiny_prepared, "test")
    mean, radar = results["baseline_mean_lidar"], results["baseline_nearest_radar"]
    # ground truth 17, 27, 26 m; mean-lidar predicts 15, 30, 20: errors 2, 3, 6
    assert mean["metrics"]["80"]["mae"] == pytest.approx((2 + 3 + 6) / 3)
    assert mean["metrics"]["80"]["rmse"] == pytest.approx(np.sqrt((4 + 9 + 36) / 3))
    # nearest radar predicts 16, 24, 16: errors 1, 3, 10
    assert radar["metrics"]["80"]["mae"] == pytest.approx((1 + 3 + 10) / 3)
    # every ground-truth depth is under 50 m: each cap scores the same pixels
    assert radar["metrics"]["50"]["mae"] == pytest.approx((1 + 3 + 10) / 3)
    assert mean["metrics"]["80"]["num_images"] == 1 and mean["split"] == "test"


def test_demo_report_and_ablation_table_show_the_baselines(tiny_prepared, tmp_path):
    out = tmp_path / "demo"
    baselines = pipeline.evaluate_baselines_cached(tiny_prepared, out)
    assert (out / "eval" / "baselines.json").is_file()
    table = pipeline.results_table(baselines)
    assert "| baseline: per-pixel mean of the training lidar | 3.667 |" in table
    assert "| baseline: nearest radar point | 4.667 |" in table
    from lircdepth_ros.demo.report import write_report  # the report is the ROS-side command's

    report = write_report(out, baselines, {}, StageClock()).read_text()
    assert "baseline: nearest radar point" in report
    per_seed = {
        seed: {name: {"mae": 2.0 + seed, "rmse": 3.0} for name in pipeline.RUNS} for seed in (0, 1)
    }
    summary = ablation.summary(per_seed, baselines)
    assert "| baseline: per-pixel mean of the training lidar | 3.667 | 4.041 |" in summary
    assert "| teacher CaFNet | 2.500 ± 0.707 |" in summary
