"""Trivial depth baselines, scored like the networks, so a report shows what was learned.

- "mean lidar": every pixel predicts the mean of the training split's single-scan lidar
  at that pixel (on the evaluation frame); a pixel no training frame saw takes the mean
  of every training lidar value.
- "nearest radar": every pixel predicts the depth of the nearest radar point of its own
  frame (the radar map the networks get); a frame without radar predicts 0, which the
  metrics clamp to their minimum depth.

Both run on a split of a prepared dataset through the same Dataset (mode "eval") and
metrics accumulator as `lircdepth evaluate`, so their numbers sit beside the networks'.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lircdepth.data.interpolate import fill_nearest
from lircdepth.metrics import DEFAULT_CAPS, DepthMetricsAccumulator

BASELINES = {
    "baseline_mean_lidar": "baseline: per-pixel mean of the training lidar",
    "baseline_nearest_radar": "baseline: nearest radar point",
}


def _eval_set(prepared: Path, split: str):
    from lircdepth.data import RadarCameraDataset

    return RadarCameraDataset(prepared, split, mode="eval")


def mean_lidar_map(prepared: Path, split: str = "train") -> np.ndarray:
    """H x W mean single-scan lidar depth of `split`, on the evaluation frame."""
    total: np.ndarray | None = None
    count: np.ndarray | None = None
    for sample in _eval_set(prepared, split):
        depth = sample["lidar_single"][0].numpy().astype(np.float64)
        if total is None or count is None:  # both set together, at the first sample
            total, count = np.zeros_like(depth), np.zeros_like(depth)
        if depth.shape != total.shape:
            raise ValueError(
                f"{prepared}: split {split} mixes frame sizes {total.shape} and {depth.shape}"
            )
        valid = depth > 0
        total[valid] += depth[valid]
        count[valid] += 1
    if total is None or count is None:
        raise ValueError(f"{prepared}: split {split} has no samples")
    overall = total.sum() / max(count.sum(), 1)
    return np.where(count > 0, total / np.maximum(count, 1), overall).astype(np.float32)


def nearest_radar_depth(radar_depth: np.ndarray) -> np.ndarray:
    """H x W: each pixel the depth of the nearest radar point (0 when there is none)."""
    return fill_nearest(np.asarray(radar_depth, dtype=np.float32), np.inf)


def evaluate_baselines(
    prepared: Path,
    split: str = "test",
    train_split: str = "train",
    caps: Sequence[float] = DEFAULT_CAPS,
) -> dict[str, dict]:
    """{baseline name: {"metrics": per cap, "split", "ground_truth"}} on `split`."""
    mean_map = mean_lidar_map(prepared, train_split)
    accumulators = {name: DepthMetricsAccumulator(caps) for name in BASELINES}
    for sample in _eval_set(prepared, split):
        truth = sample["lidar_single"]
        if truth.shape[1:] != mean_map.shape:
            raise ValueError(
                f"{prepared}: {split} frames are {tuple(truth.shape[1:])}, {train_split} frames "
                f"{mean_map.shape}: the mean-lidar baseline needs one frame size"
            )
        accumulators["baseline_mean_lidar"].update(mean_map[None], truth)
        radar = nearest_radar_depth(sample["radar"][0].numpy())
        accumulators["baseline_nearest_radar"].update(radar[None], truth)
    return {
        name: {
            "arch": "baseline",
            "split": split,
            "ground_truth": "lidar_single",
            "metrics": accumulator.compute(),
        }
        for name, accumulator in accumulators.items()
    }
