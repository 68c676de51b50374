"""The bag's ground truth and scores equal offline preparation and evaluation exactly."""

from __future__ import annotations

import numpy as np
import pytest
from nuscenes.nuscenes import NuScenes

from lircdepth.data.dataset import RadarCameraDataset
from lircdepth.metrics import DepthMetricsAccumulator
from lircdepth_ros.bag.ground_truth import BagGroundTruth
from lircdepth_ros.bag.scoring import FrameScorer, score_depth_maps

VERSION = "v1.0-mini"


@pytest.fixture(scope="module")
def offline_frames(synth_root, prepared_root, scene_bag) -> dict[int, np.ndarray]:
    """Camera stamp (ns) -> the evaluation `lidar_single` map of the bag's scene, offline."""
    nusc = NuScenes(version=VERSION, dataroot=str(synth_root), verbose=False)
    frames = {}
    for split in ("train", "val", "test"):
        dataset = RadarCameraDataset(prepared_root, split, mode="eval")
        for index in range(len(dataset)):
            item = dataset[index]
            if nusc.get("scene", item["scene_token"])["name"] == scene_bag.name:
                stamp = nusc.get("sample_data", item["token"])["timestamp"] * 1000
                frames[stamp] = item["lidar_single"][0].numpy()
    assert frames, f"prepared dataset has no keyframe of {scene_bag.name}"
    return frames


def test_ground_truth_equals_prepared_lidar_single(scene_bag, offline_frames):
    ground_truth = BagGroundTruth(scene_bag)
    assert set(ground_truth.targets) == set(offline_frames)
    scorer = FrameScorer(ground_truth)
    for stamp, offline in offline_frames.items():
        full = ground_truth.depth_map(stamp)
        _, online = scorer.aligned_ground_truth(stamp, full)
        assert (online > 0).sum() > 100
        np.testing.assert_array_equal(online, offline)


def test_scores_equal_offline_metrics_for_the_same_predictions(scene_bag, offline_frames):
    rng = np.random.default_rng(1)
    height = BagGroundTruth(scene_bag).camera(next(iter(offline_frames))).height
    predictions = {}
    offline = DepthMetricsAccumulator()
    for stamp, gt in offline_frames.items():
        full = rng.uniform(1, 90, (height, gt.shape[1])).astype(np.float32)
        predictions[stamp] = full
        offline.update(full[height - gt.shape[0] :], gt)
    online = score_depth_maps(scene_bag, predictions)
    assert online["frames_scored"] == len(offline_frames)
    assert online["metrics"] == offline.compute()
    cropped = {s: p[height % 32 :] for s, p in predictions.items()}
    assert score_depth_maps(scene_bag, cropped)["metrics"] == offline.compute()


def test_all_frames_pair_each_camera_frame_with_the_nearest_sweep(scene_bag):
    ground_truth = BagGroundTruth(scene_bag, frames="all")
    keyframes = BagGroundTruth(scene_bag).targets
    assert len(ground_truth.targets) > len(keyframes)
    lidar = np.array(sorted(set(ground_truth.lidar_points)))
    for camera, sweep in ground_truth.targets.items():
        assert abs(sweep - camera) == np.abs(lidar - camera).min()
    assert all(ground_truth.targets[s] == keyframes[s] for s in keyframes)


def test_wrong_sized_depth_is_rejected_with_its_size(scene_bag):
    scorer = FrameScorer(BagGroundTruth(scene_bag))
    stamp = next(iter(scorer.expected))
    with pytest.raises(ValueError, match="100x50"):
        scorer.add(stamp, np.ones((50, 100), dtype=np.float32))
    assert not scorer.add(stamp + 1, np.ones((50, 100), dtype=np.float32))


def test_a_file_that_is_no_bag_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="metadata.yaml"):
        BagGroundTruth(tmp_path)
