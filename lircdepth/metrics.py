"""Depth metrics at distance caps (50, 70, 80 m), as the radar-camera depth papers report them.

Protocol (method.md section 5): for each cap, a pixel counts when its ground truth lies in
(1e-3, cap); a NaN prediction pixel counts as the minimum depth (as the published
evaluation does) and the prediction is clamped to [1e-3, cap]; every metric is computed per image
and then averaged over the images that have at least one valid pixel.

Units: MAE and RMSE in metres; iMAE and iRMSE in 1/km (inverse depth in 1/m times 1000,
the KITTI depth-completion convention); SIlog is 100 * sqrt(var(log error)) (the KITTI/BTS
scale); AbsRel, SqRel, RMSE-log, log10 and the deltas are unitless (SqRel's numerator is m^2
over m, so strictly metres, as customary it is reported bare).

The training loop, `lircdepth evaluate` and the online ROS evaluator all use this module:
`DepthMetricsAccumulator(caps).update(pred, gt)` per image (or batch), then `.compute()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lircdepth.atomic import write_json_atomic

MIN_DEPTH = 1e-3
DEFAULT_CAPS: tuple[float, ...] = (50.0, 70.0, 80.0)
# The cap headline numbers are read at (model selection, README and report tables); a
# string, as the metrics JSON keys are the caps' integer strings.
HEADLINE_CAP = "80"

# name -> (column title, unit) in the order tables print them.
METRICS: dict[str, tuple[str, str]] = {
    "mae": ("MAE", "m"),
    "rmse": ("RMSE", "m"),
    "imae": ("iMAE", "1/km"),
    "irmse": ("iRMSE", "1/km"),
    "abs_rel": ("AbsRel", ""),
    "sq_rel": ("SqRel", ""),
    "rmse_log": ("RMSE-log", ""),
    "silog": ("SIlog", ""),
    "log10": ("log10", ""),
    "delta1": ("δ<1.25", ""),
    "delta2": ("δ<1.25²", ""),
    "delta3": ("δ<1.25³", ""),
}


def _to_numpy(array) -> np.ndarray:
    """Accept numpy arrays and torch tensors (any device) without importing torch here."""
    if hasattr(array, "detach"):
        array = array.detach().float().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def image_metrics(pred: np.ndarray, gt: np.ndarray, cap: float) -> dict[str, float] | None:
    """All metrics of one image at one cap, or None when no pixel of `gt` is valid."""
    pred = _to_numpy(pred)
    gt = _to_numpy(gt)
    if pred.shape != gt.shape:
        raise ValueError(
            f"prediction shape {pred.shape} differs from ground truth shape {gt.shape}"
        )
    valid = (gt > MIN_DEPTH) & (gt < cap)
    if not valid.any():
        return None
    g = gt[valid]
    p = np.clip(np.where(np.isnan(pred[valid]), MIN_DEPTH, pred[valid]), MIN_DEPTH, cap)
    err = p - g
    inv_err_per_km = (1.0 / p - 1.0 / g) * 1000.0
    log_err = np.log(p) - np.log(g)
    ratio = np.maximum(p / g, g / p)
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "imae": float(np.mean(np.abs(inv_err_per_km))),
        "irmse": float(np.sqrt(np.mean(inv_err_per_km**2))),
        "abs_rel": float(np.mean(np.abs(err) / g)),
        "sq_rel": float(np.mean(err**2 / g)),
        "rmse_log": float(np.sqrt(np.mean(log_err**2))),
        "silog": float(100.0 * np.sqrt(max(np.mean(log_err**2) - np.mean(log_err) ** 2, 0.0))),
        "log10": float(np.mean(np.abs(np.log10(p) - np.log10(g)))),
        "delta1": float(np.mean(ratio < 1.25)),
        "delta2": float(np.mean(ratio < 1.25**2)),
        "delta3": float(np.mean(ratio < 1.25**3)),
    }


def cap_key(cap: float) -> str:
    """The results-dict (and JSON) key of a cap: 50.0 -> "50"."""
    return f"{cap:g}"


def _as_image_batch(array) -> np.ndarray:
    """H x W -> 1 x H x W; B x H x W stays; B x 1 x H x W -> B x H x W."""
    array = _to_numpy(array)
    if array.ndim == 2:
        return array[None]
    if array.ndim == 4 and array.shape[1] == 1:
        return array[:, 0]
    if array.ndim == 3:
        return array
    raise ValueError(
        f"expected a depth map H x W, B x H x W or B x 1 x H x W, got shape {array.shape}"
    )


class DepthMetricsAccumulator:
    """Streaming per-image metrics: one pass over a split, constant memory.

    It keeps, per cap, the sum of every metric over images and the image count, so two
    accumulators (e.g. from several processes) merge by adding their `state()`.
    """

    def __init__(self, caps: Sequence[float] = DEFAULT_CAPS) -> None:
        if not caps:
            raise ValueError("at least one cap is needed")
        self.caps = tuple(float(c) for c in caps)
        self._sums = np.zeros((len(self.caps), len(METRICS)))
        self._counts = np.zeros(len(self.caps))

    def update(self, pred, gt) -> None:
        """Add one image (H x W) or a batch (B x H x W or B x 1 x H x W), metres."""
        preds, gts = _as_image_batch(pred), _as_image_batch(gt)
        if preds.shape != gts.shape:
            raise ValueError(
                f"prediction shape {preds.shape} differs from ground truth shape {gts.shape}"
            )
        for p, g in zip(preds, gts, strict=True):
            for i, cap in enumerate(self.caps):
                values = image_metrics(p, g, cap)
                if values is not None:
                    self._sums[i] += [values[name] for name in METRICS]
                    self._counts[i] += 1

    def state(self) -> np.ndarray:
        """Sums and counts as one array (caps x (metrics + 1)), for all-reduce or merging."""
        return np.concatenate([self._sums, self._counts[:, None]], axis=1)

    def load_state(self, state: np.ndarray) -> None:
        """Replace the running sums with `state` (e.g. the sum of all processes' states)."""
        state = np.asarray(state, dtype=np.float64)
        self._sums, self._counts = state[:, :-1].copy(), state[:, -1].copy()

    @classmethod
    def merged(cls, parts: Sequence[DepthMetricsAccumulator]) -> DepthMetricsAccumulator:
        """One accumulator over every image of `parts` (same caps), e.g. a whole camera rig."""
        merged = cls(parts[0].caps)
        merged.load_state(np.asarray(sum(part.state() for part in parts)))
        return merged

    @property
    def num_images(self) -> int:
        """Images seen with at least one valid pixel at the largest cap."""
        return int(self._counts.max())

    def compute(self) -> dict[str, dict[str, float]]:
        """{"50": {"mae": ..., ..., "num_images": n}, "70": {...}, ...}; NaN where no image counted."""
        results = {}
        for i, cap in enumerate(self.caps):
            count = self._counts[i]
            means = self._sums[i] / count if count else np.full(len(METRICS), np.nan)
            entry = {name: float(v) for name, v in zip(METRICS, means, strict=True)}
            entry["num_images"] = int(count)
            results[cap_key(cap)] = entry
        return results


def format_markdown(results: dict[str, dict[str, float]], title: str | None = None) -> str:
    """A Markdown table: one row per cap, one column per metric, units in the header."""
    header = ["cap (m)", "images"] + [f"{t} ({u})" if u else t for t, u in METRICS.values()]
    lines = [f"### {title}", ""] if title else []
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" for _ in header) + "|")
    for key, entry in results.items():
        cells = [key, str(entry.get("num_images", ""))]
        cells += [_format_value(name, entry.get(name, float("nan"))) for name in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def format_comparison_markdown(
    named_results: dict[str, dict[str, dict[str, float]]], cap: str
) -> str:
    """Several models' results at one cap as one table (a row per model)."""
    header = ["model"] + [f"{t} ({u})" if u else t for t, u in METRICS.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    for name, results in named_results.items():
        entry = results[cap]
        lines.append(
            "| " + " | ".join([name] + [_format_value(m, entry[m]) for m in METRICS]) + " |"
        )
    return "\n".join(lines) + "\n"


def _format_value(name: str, value: float) -> str:
    return (
        f"{value:.4f}"
        if name.startswith(("delta", "abs_rel", "rmse_log", "log10"))
        else f"{value:.3f}"
    )


def write_json(results: dict, path: str | Path) -> None:
    """Write results as strict, indented JSON, atomically: a metric without images is
    null (its cap's `num_images` says 0), never NaN, which strict parsers refuse."""
    write_json_atomic(path, results)
