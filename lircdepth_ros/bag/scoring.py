"""Scoring predicted depth maps of a bag's camera frames against its lidar ground truth.

ROS-free: the live evaluator feeds it what the node publishes, tests and scripts feed
it arrays, and both get the numbers `lircdepth evaluate` computes offline for the
same frames (same metrics module, same ground-truth projection, same top-row crop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lircdepth.metrics import DEFAULT_CAPS, DepthMetricsAccumulator, image_metrics
from lircdepth_ros.bag.ground_truth import BagGroundTruth


def evaluation_rows_dropped(height: int) -> int:
    """Offline evaluation drops the top H mod 32 rows (900 -> 896) so the networks fit."""
    return height % 32


class FrameScorer:
    """Accumulates metrics over the bag's scored frames; each frame counts once."""

    def __init__(self, ground_truth: BagGroundTruth, caps: Sequence[float] = DEFAULT_CAPS):
        self.ground_truth = ground_truth
        self.caps = tuple(caps)
        self.accumulator = DepthMetricsAccumulator(self.caps)
        self.frames: dict[int, dict[str, float]] = {}
        self.ignored = 0

    @property
    def expected(self) -> set[int]:
        return set(self.ground_truth.targets)

    @property
    def done(self) -> bool:
        return self.expected <= set(self.frames)

    def aligned_ground_truth(
        self, stamp_ns: int, prediction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(prediction, ground truth) cropped to the evaluation rows; the prediction may be
        full height or already without the dropped top rows."""
        gt = self.ground_truth.depth_map(stamp_ns)
        dropped = evaluation_rows_dropped(gt.shape[0])
        gt = gt[dropped:]
        if prediction.shape == (gt.shape[0] + dropped, gt.shape[1]):
            prediction = prediction[dropped:]
        if prediction.shape != gt.shape:
            raise ValueError(
                f"depth at stamp {stamp_ns} ns is {prediction.shape[1]}x{prediction.shape[0]}, but the camera "
                f"image is {gt.shape[1]}x{gt.shape[0] + dropped} (evaluated {gt.shape[1]}x{gt.shape[0]})"
            )
        return prediction, gt

    def add(self, stamp_ns: int, prediction: np.ndarray) -> bool:
        """Score one predicted depth map (metres); False when the frame is not scored or seen."""
        if stamp_ns not in self.ground_truth.targets or stamp_ns in self.frames:
            self.ignored += 1
            return False
        prediction, gt = self.aligned_ground_truth(
            stamp_ns, np.asarray(prediction, dtype=np.float32)
        )
        self.accumulator.update(prediction, gt)
        per_frame = image_metrics(prediction, gt, max(self.caps)) or {}
        self.frames[stamp_ns] = {
            name: per_frame.get(name, float("nan")) for name in ("mae", "rmse")
        }
        return True

    def results(self) -> dict:
        """The metrics dict of lircdepth.metrics plus what was (not) scored."""
        missing = sorted(self.expected - set(self.frames))
        return {
            "metrics": self.accumulator.compute(),
            "bag": str(self.ground_truth.bag),
            "frames_expected": len(self.expected),
            "frames_scored": len(self.frames),
            "frames_missing": missing,
            "messages_ignored": self.ignored,
            "per_frame": [{"stamp_ns": s, **v} for s, v in sorted(self.frames.items())],
        }


def score_depth_maps(
    bag: str | Path,
    depth_by_stamp: Mapping[int, np.ndarray],
    camera: str = "CAM_FRONT",
    frames: str = "keyframes",
    caps: Sequence[float] = DEFAULT_CAPS,
) -> dict:
    """Score depth maps keyed by camera stamp (ns) against the bag's lidar, without ROS."""
    scorer = FrameScorer(BagGroundTruth(bag, camera=camera, frames=frames), caps)
    for stamp, depth in depth_by_stamp.items():
        scorer.add(int(stamp), depth)
    return scorer.results()
