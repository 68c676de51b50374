"""Per-camera and whole-rig scoring of a surround-view bag (no ROS, a hand-made bag)."""

from __future__ import annotations

import numpy as np
import pytest

from lircdepth.synth.config import FULL_CAMERAS
from lircdepth_ros.bag.scoring import RIG_ROW, RigScorer, rig_markdown, score_depth_maps, score_rig

SILENT = "CAM_BACK"
RIG = FULL_CAMERAS
# Each camera's prediction is off by its own constant at every ground-truth pixel.
OFFSETS = {camera: 0.25 * (i + 1) for i, camera in enumerate(RIG)}


@pytest.fixture(scope="module")
def predictions(rig_bag) -> dict[str, dict[int, np.ndarray]]:
    """{camera: {stamp: full-height depth}}: ground truth + the camera's offset; none for SILENT."""
    scorer = RigScorer(rig_bag, list(RIG))
    out = {}
    for camera, frame_scorer in scorer.scorers.items():
        if camera == SILENT:
            continue
        truth = frame_scorer.ground_truth
        out[camera] = {
            stamp: np.where(gt > 0, gt + OFFSETS[camera], 30.0).astype(np.float32)
            for stamp in truth.targets
            for gt in [truth.depth_map(stamp)]
        }
    return out


def test_every_camera_sees_the_wall_at_its_own_keyframes(rig_bag, rig_world):
    assert tuple(rig_world.RIG) == RIG
    scorer = RigScorer(rig_bag, list(RIG))
    stamps = set()
    for frame_scorer in scorer.scorers.values():
        truth = frame_scorer.ground_truth
        assert len(truth.targets) == 3
        stamps |= set(truth.targets)
        for stamp in truth.targets:
            depth = truth.depth_map(stamp)
            assert (depth > 0).sum() > 200
            assert 5.0 < np.median(depth[depth > 0]) < 16.0  # the 12 m ring around a moving ego
    assert len(stamps) == 3 * len(RIG)  # each camera fires at its own time


def test_each_camera_and_the_rig_get_their_own_scores(rig_bag, predictions):
    results = score_rig(rig_bag, predictions, cameras=list(RIG))
    answered = [c for c in RIG if c != SILENT]
    assert results["cameras_silent"] == [SILENT]
    assert (results["frames_scored"], results["frames_expected"]) == (3 * 5, 3 * 6)
    for camera in answered:
        entry = results["cameras"][camera]
        assert entry["frames_scored"] == 3 and not entry["frames_missing"]
        assert entry["metrics"]["80"]["mae"] == pytest.approx(OFFSETS[camera], abs=1e-4)
        # The same numbers as scoring that camera alone.
        alone = score_depth_maps(rig_bag, predictions[camera], camera=camera)
        assert entry["metrics"] == alone["metrics"]
    silent = results["cameras"][SILENT]
    assert silent["frames_scored"] == 0 and len(silent["frames_missing"]) == 3
    rig_mae = np.mean([OFFSETS[c] for c in answered])
    assert results["metrics"]["80"]["mae"] == pytest.approx(rig_mae, abs=1e-4)
    assert results["metrics"]["80"]["num_images"] == 15
    table = rig_markdown(results)
    assert f"| {RIG_ROW} | 15/18 |" in table and f"| {SILENT} | 0/3 | – |" in table
    assert f"No depth scored from: {SILENT}" in table


def test_depth_of_another_size_is_refused_per_camera(rig_bag):
    scorer = RigScorer(rig_bag, ["CAM_FRONT", "CAM_BACK"])
    stamp = next(iter(scorer.scorers["CAM_BACK"].expected))
    with pytest.raises(ValueError, match="10x5"):
        scorer.add("CAM_BACK", stamp, np.ones((5, 10), np.float32))
    assert not scorer.add("CAM_FRONT", stamp, np.ones((5, 10), np.float32))  # not its stamp


def test_a_camera_the_bag_lacks_is_named(rig_bag):
    with pytest.raises(KeyError, match="CAM_SIDE"):
        RigScorer(rig_bag, ["CAM_FRONT", "CAM_SIDE"])
