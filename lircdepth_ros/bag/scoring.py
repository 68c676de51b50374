"""Scoring predicted depth maps of a bag's camera frames against its lidar ground truth.

ROS-free: the live evaluator feeds it what the node publishes, tests and scripts feed
it arrays, and both get the numbers `lircdepth evaluate` computes offline for the
same frames (same metrics module, same ground-truth projection, same top-row crop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lircdepth.data.augment import evaluation_window
from lircdepth.metrics import (
    DEFAULT_CAPS,
    HEADLINE_CAP,
    METRICS,
    DepthMetricsAccumulator,
    image_metrics,
)
from lircdepth_ros.bag.convert import LIDAR_CHANNEL
from lircdepth_ros.bag.ground_truth import BagGroundTruth, BagRecording

RIG_ROW = "rig (all cameras)"
TABLE_METRICS = ("mae", "rmse", "imae", "irmse", "delta1")


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
        dropped = evaluation_window(*gt.shape[:2]).top
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


class RigScorer:
    """One `FrameScorer` per camera over one reading of the bag, and the whole rig.

    The rig's metrics are the per-image means over every scored frame of every camera
    (the per-camera accumulators' sums added), so a camera that answered no frame leaves
    the others' numbers as they are and is listed in `cameras_silent`.
    """

    def __init__(
        self,
        bag: str | Path,
        cameras: Sequence[str],
        frames: str = "keyframes",
        caps: Sequence[float] = DEFAULT_CAPS,
        lidar: str = LIDAR_CHANNEL,
    ):
        if not cameras or len(set(cameras)) != len(cameras):
            raise ValueError(f"cameras must be distinct names, at least one, got {list(cameras)}")
        self.recording = recording = BagRecording(bag, cameras, lidar)
        self.bag = recording.bag
        self.caps = tuple(caps)
        self.scorers = {
            c: FrameScorer(BagGroundTruth(bag, c, lidar, frames, recording), caps) for c in cameras
        }

    @property
    def done(self) -> bool:
        return all(s.done for s in self.scorers.values())

    def add(self, camera: str, stamp_ns: int, prediction: np.ndarray) -> bool:
        return self.scorers[camera].add(stamp_ns, prediction)

    def results(self) -> dict:
        """Per camera the `FrameScorer` results, and the rig's metrics and counts on top."""
        cameras = {c: s.results() for c, s in self.scorers.items()}
        rig = DepthMetricsAccumulator.merged([s.accumulator for s in self.scorers.values()])
        return {
            "metrics": rig.compute(),
            "bag": str(self.bag),
            "cameras": cameras,
            "frames_expected": sum(r["frames_expected"] for r in cameras.values()),
            "frames_scored": sum(r["frames_scored"] for r in cameras.values()),
            "messages_ignored": sum(r["messages_ignored"] for r in cameras.values()),
            "cameras_silent": [c for c, r in cameras.items() if not r["frames_scored"]],
        }


def score_rig(
    bag: str | Path,
    depth_by_camera: Mapping[str, Mapping[int, np.ndarray]],
    cameras: Sequence[str] | None = None,
    frames: str = "keyframes",
    caps: Sequence[float] = DEFAULT_CAPS,
) -> dict:
    """Score {camera: {stamp ns: depth}} against the bag's lidar per camera and for the rig,
    without ROS; `cameras` (default: the keys) may name cameras that gave no depth."""
    scorer = RigScorer(bag, list(cameras or depth_by_camera), frames, caps)
    for camera, depths in depth_by_camera.items():
        for stamp, depth in depths.items():
            scorer.add(camera, int(stamp), depth)
    return scorer.results()


def rig_markdown(results: dict, cap: str = HEADLINE_CAP) -> str:
    """Per-camera rows and the rig row at one cap: frames scored and the main metrics."""
    titles = [
        f"{METRICS[n][0]} ({METRICS[n][1]})" if METRICS[n][1] else METRICS[n][0]
        for n in TABLE_METRICS
    ]
    lines = [
        f"| camera | frames | {' | '.join(titles)} |",
        "|---|---:|" + "---:|" * len(TABLE_METRICS),
    ]
    rows = [(c, r) for c, r in results["cameras"].items()] + [(RIG_ROW, results)]
    for name, entry in rows:
        values = entry["metrics"][cap]
        cells = [_cell(values.get(n)) for n in TABLE_METRICS]
        frames = f"{entry['frames_scored']}/{entry['frames_expected']}"
        lines.append(f"| {name} | {frames} | {' | '.join(cells)} |")
    if results["cameras_silent"]:
        lines += ["", f"No depth scored from: {', '.join(results['cameras_silent'])}"]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.3f}"
