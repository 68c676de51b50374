"""Checkpoint selection: which validation scores make a new best file.

The project's default keeps one `best.pt`, chosen by the MAE at the 80 m cap on the val
split. The published protocol (`--best_per_metric`, usually with `--val_split test
--eval_freq 4500`) keeps one file per metric, `best_<metric>.pt`, each written when that
metric improves; the delta metrics improve upwards, every other one downwards.
"""

from __future__ import annotations

import math
from pathlib import Path

from lircdepth.metrics import METRICS

HIGHER_IS_BETTER = frozenset({"delta1", "delta2", "delta3"})


def best_metric_path(run_dir: Path, metric: str) -> Path:
    return Path(run_dir) / f"best_{metric}.pt"


def is_better(metric: str, value: float, best: float | None) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best if metric in HIGHER_IS_BETTER else value < best


def update_best_per_metric(
    best: dict[str, dict], scores: dict[str, float], global_step: int
) -> list[str]:
    """Record every metric of `scores` that beats `best` (in place); return their names."""
    improved = []
    for metric in METRICS:
        value = scores.get(metric, math.nan)
        if is_better(metric, value, best.get(metric, {}).get("value")):
            best[metric] = {"value": float(value), "global_step": global_step}
            improved.append(metric)
    return improved
