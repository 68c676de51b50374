"""The accuracy cost of reduced precision, measured on a test split with a trained checkpoint.

Every engine/precision runs the same frames through `DepthEstimator.estimate` (the
deployed path). It reports MAE/RMSE at the cap (80 m) against the lidar ground truth,
the MAE change against fp32 (torch, the project's default form) and the per-pixel
depth differences to that fp32 depth (median, p99, max) over every pixel the network
saw. int8 is calibrated on the train split of the same prepared dataset.

    lircdepth bench precision --checkpoint CKPT --data PREPARED [--split test]
        [--engines torch:fp32 openvino:fp32 openvino:bf16 openvino:int8]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lircdepth.argtypes import positive_int
from lircdepth.bench.inference import parse_engine
from lircdepth.inference.calibration import DEFAULT_FRAMES
from lircdepth.inference.preprocess import NETWORK_STRIDE

DEFAULT_ENGINES = ("torch:fp32", "openvino:fp32", "openvino:bf16", "openvino:int8")
CAP_M = 80.0
MAE_BUDGET = 0.02  # the target: int8 MAE within 2 % of fp32


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lircdepth bench precision", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="trained checkpoint")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--engines", nargs="+", default=list(DEFAULT_ENGINES))
    parser.add_argument("--calibration-frames", type=positive_int, default=DEFAULT_FRAMES)
    parser.add_argument("--threads", type=positive_int, help="CPU threads (default: torch's)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def score_engine(args: argparse.Namespace, engine: str, dtype: str, frames: list[dict]) -> dict:
    """Depth maps (network rows only) and metrics at the cap for one engine/precision."""
    from lircdepth.inference import DepthEstimator
    from lircdepth.metrics import DepthMetricsAccumulator, cap_key

    estimator = DepthEstimator.from_checkpoint(
        args.checkpoint,
        device="cpu",
        backend=engine,
        dtype=dtype,
        threads=args.threads,
        **(
            {"calibration": args.data, "calibration_frames": args.calibration_frames}
            if dtype == "int8"
            else {}
        ),
    )
    accumulator = DepthMetricsAccumulator((CAP_M,))
    depths = []
    for frame in frames:
        crop = frame["image"].shape[0] % NETWORK_STRIDE  # rows the network never sees
        depth = estimator.estimate(frame["image"], frame["radar_points"]).depth[crop:]
        accumulator.update(depth, frame["lidar_single"][crop:])
        depths.append(depth)
    metrics = accumulator.compute()[cap_key(CAP_M)]
    return {"engine": engine, "dtype": dtype, **metrics, "depth": np.stack(depths)}


def compare(rows: list[dict]) -> None:
    """MAE change and per-pixel |depth - fp32| of every row against the torch fp32 row;
    drops the depth maps afterwards."""
    baseline = next(row for row in rows if (row["engine"], row["dtype"]) == ("torch", "fp32"))
    for row in rows:
        error = np.abs(row["depth"] - baseline["depth"])
        row["mae_change"] = row["mae"] / baseline["mae"] - 1
        row["diff_median_m"] = float(np.median(error))
        row["diff_p99_m"] = float(np.percentile(error, 99))
        row["diff_max_m"] = float(error.max())
    for row in rows:
        del row["depth"]


def format_table(rows: list[dict], images: int) -> str:
    lines = [
        f"accuracy at {CAP_M:g} m on {images} test images; |d| = per-pixel |depth - torch fp32|",
        "| engine | dtype | MAE (m) | RMSE (m) | MAE vs fp32 | |d| median (m) | |d| p99 (m) | |d| max (m) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "unavailable" in row:
            lines.append(
                f"| {row['engine']} | {row['dtype']} | unavailable: {row['unavailable']} |"
            )
            continue
        lines.append(
            f"| {row['engine']} | {row['dtype']} | {row['mae']:.3f} | {row['rmse']:.3f} | "
            f"{row['mae_change']:+.2%} | {row['diff_median_m']:.4f} | {row['diff_p99_m']:.4f} | "
            f"{row['diff_max_m']:.4f} |"
        )
    lines.append(_mae_target(rows))
    return "\n".join(lines)


def _mae_target(rows: list[dict]) -> str:
    """Whether every int8 row keeps its MAE within the budget of fp32."""
    target = f"target: int8 MAE within {MAE_BUDGET:.0%} of fp32:"
    changes = [row["mae_change"] for row in rows if row["dtype"] == "int8" and "mae" in row]
    if not changes:
        return f"{target} not measured (no int8 row ran)"
    worst = max(changes, key=abs)
    return f"{target} {'met' if abs(worst) <= MAE_BUDGET else 'missed'} ({worst:+.2%})"


def main(argv: list[str] | None = None) -> int:
    from lircdepth.data.dataset import RADAR_MAP_COLUMNS, RadarCameraDataset
    from lircdepth.inference import BackendUnavailableError

    args = parse_args(sys.argv[1:] if argv is None else argv)
    dataset = RadarCameraDataset(args.data, args.split, mode="eval")
    frames = []
    for index in range(len(dataset)):
        sample = dataset.load(index)
        sample["radar_points"] = sample["radar_points"][:, :RADAR_MAP_COLUMNS]
        frames.append(sample)
    rows, unavailable = [], []
    for engine, dtype in map(parse_engine, args.engines):
        try:
            rows.append(score_engine(args, engine, dtype, frames))
        except BackendUnavailableError as error:
            unavailable.append({"engine": engine, "dtype": dtype, "unavailable": str(error)})
        print(f"  scored {engine} {dtype}", file=sys.stderr, flush=True)
    compare(rows)
    print(format_table(rows + unavailable, len(frames)))
    if args.json:
        args.json.write_text(json.dumps(rows + unavailable, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
