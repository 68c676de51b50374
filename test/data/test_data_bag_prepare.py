"""`lircdepth prepare --bag`: bags recorded from the synthetic world give the derived dataset
nuScenes preparation gives for the same frames; train (from a checkpoint) and evaluate run
on it unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lircdepth.cli import main
from lircdepth.data import storage
from lircdepth.data.interpolate import InterpolationConfig
from lircdepth.data.prepare import PrepareConfig, prepare
from lircdepth.data.radar import RadarOptions
from lircdepth.geometry import rasterize_radar

VERSION = "v1.0-mini"
CAMERAS = ["CAM_FRONT", "CAM_BACK"]


@pytest.fixture(scope="module")
def bags(full_rig_root, module_tmp_path):
    """One bag per scene of the full-rig world (two cameras, every radar, every point)."""
    from lircdepth_ros.bag.convert import convert_scenes

    return convert_scenes(
        full_rig_root,
        VERSION,
        module_tmp_path / "bags",
        cameras=CAMERAS,
        radars=["all"],
        radar_all_points=True,
    )


@pytest.fixture(scope="module")
def from_bags(bags, module_tmp_path):
    out = module_tmp_path / "from_bags"
    argv = ["prepare", "--bag", *map(str, bags), "--out", str(out), "--cameras", *CAMERAS]
    argv += ["--radars", "all", "--lidar", "/LIDAR_TOP", "--no-progress"]
    assert main(argv) == 0
    return out


def sorted_rows(points):
    return points[np.lexsort(points.T[::-1])]


def records_by_time(root):
    records = {}
    for split in ("train", "val", "test"):
        for record in storage.read_index(root / "index" / f"{split}.txt"):
            records[(record["camera"], record["timestamp"])] = record
    return records


def test_bag_dataset_equals_the_nuscenes_preparation(full_rig_root, from_bags, module_tmp_path):
    reference = module_tmp_path / "from_dataroot"
    # Single-scan supervision on both sides (window 0); radar paired by time as in a bag.
    prepare(
        PrepareConfig(
            dataroot=full_rig_root,
            version=VERSION,
            out=reference,
            cameras=tuple(CAMERAS),
            accumulate_sweeps=0,
            accumulate_sweeps_test=0,
            progress=False,
            radar=RadarOptions(channels=("all",), pairing="camera"),
            interpolation=InterpolationConfig(),
        )
    )
    ours, theirs = records_by_time(from_bags), records_by_time(reference)
    assert len(ours) == len(theirs) == 12  # 2 scenes x 3 keyframes x 2 cameras
    for key, record in ours.items():
        twin = theirs[key]
        assert record["camera_matrix"] == twin["camera_matrix"]
        image = storage.load_image_rgb(from_bags / record["image"])
        np.testing.assert_array_equal(image, storage.load_image_rgb(twin["image"]))
        # The same points (the radars come in topic order, not the sensor table's: within
        # each radar the order is the file's, so the rasterised map is the same).
        radar = storage.load_npy(from_bags / record["radar"])
        expected = storage.load_npy(reference / twin["radar"])[:, :6]
        np.testing.assert_array_equal(sorted_rows(radar[:, :6]), sorted_rows(expected))
        height, width = record["height"], record["width"]
        np.testing.assert_array_equal(
            rasterize_radar(radar[:, :6], height, width), rasterize_radar(expected, height, width)
        )
        assert not radar[:, 6].any()
        for name in ("lidar_single", "lidar_accum", "depth_interp"):
            a = storage.load_depth_png(from_bags / record[name])
            b = storage.load_depth_png(reference / twin[name])
            np.testing.assert_array_equal(a, b, err_msg=name)
        assert storage.load_npy(from_bags / record["boxes"]).shape == (0, 4)
    # Split by bag: each bag's samples in one split (two bags: one trains, one is val + test).
    train = storage.read_index(from_bags / "index" / "train.txt")
    test = storage.read_index(from_bags / "index" / "test.txt")
    assert {r["scene_name"] for r in train}.isdisjoint({r["scene_name"] for r in test})


def test_rerun_skips_prepared_samples_and_window_accumulates(bags, from_bags, tmp_path):
    stamps = {
        p: p.stat().st_mtime_ns
        for p in from_bags.rglob("*")
        if p.is_file() and "index" not in p.parts
    }
    argv = ["prepare", "--bag", *map(str, bags), "--out", str(from_bags), "--cameras", *CAMERAS]
    argv += ["--radars", "all", "--no-progress"]
    assert main(argv) == 0
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    window = tmp_path / "window"
    argv = ["prepare", "--bag", str(bags[0]), "--out", str(window)]
    argv += ["--lidar-accumulation", "window", "--accumulate-sweeps", "4", "--no-progress"]
    assert main(argv) == 0
    (record, *_) = storage.read_index(window / "index" / "train.txt")
    single = storage.load_depth_png(window / record["lidar_single"])
    stacked = storage.load_depth_png(window / record["lidar_accum"])
    assert record["lidar_accumulation"] == "window"
    assert np.count_nonzero(stacked) > np.count_nonzero(single) > 0


def test_missing_lidar_is_one_line(bags, tmp_path, capsys):
    argv = ["prepare", "--bag", str(bags[0]), "--out", str(tmp_path), "--lidar", "/VELODYNE"]
    assert main(argv) == 1  # the bag lacks it (MissingTopicError: the job's data)
    assert "records no point cloud /VELODYNE" in capsys.readouterr().err.splitlines()[0]


def test_fine_tune_from_a_checkpoint_on_bags_then_evaluate(
    from_bags, student_checkpoint, tmp_path, capsys
):
    """The issue's path: bags -> prepare --bag -> a few steps from a checkpoint -> evaluate."""

    def evaluate(checkpoint, name):
        report = tmp_path / f"{name}.json"
        argv = ["evaluate", "--checkpoint", str(checkpoint), "--data", str(from_bags)]
        argv += ["--split", "test", "--json", str(report), "--no-progress"]
        assert main(argv) == 0
        return json.loads(report.read_text())

    before = evaluate(student_checkpoint, "before")
    argv = [
        *("train", "student", "--data_path", str(from_bags), "--log_directory", str(tmp_path)),
        *("--init_checkpoint", str(student_checkpoint), "--input_height", "64"),
        *("--input_width", "128", "--batch_size", "2", "--workers", "0", "--num_threads", "1"),
        *("--max_steps", "3", "--eval_freq", "0", "--no-progress"),
        *("--w_image_feature_distill", "0", "--w_radar_feature_distill", "0"),
        *("--w_pairwise_distill", "0", "--w_inter_depth_distill", "0"),
    ]
    assert main(argv) == 0
    after = evaluate(tmp_path / "student" / "last.pt", "after")
    mae_before = before["metrics"]["80"]["mae"]
    mae_after = after["metrics"]["80"]["mae"]
    assert np.isfinite(mae_before) and np.isfinite(mae_after)
    assert after["global_step"] == 3 and mae_after != mae_before
    print(
        f"fine-tuning on bags: test MAE (0-80 m) {mae_before:.3f} m at step 0 -> "
        f"{mae_after:.3f} m after 3 steps"
    )
