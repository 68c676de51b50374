"""Score a checkpoint (teacher or student) on a split: `lircdepth evaluate --checkpoint CKPT --data OUT`.

Prints a Markdown table of MAE, RMSE (m), iMAE, iRMSE (1/km), AbsRel, SqRel, RMSE-log,
SIlog, log10 and delta 1/2/3 at each cap, one table per ground truth: the single-scan
lidar map (what the paper reports) and the accumulated lidar map; optionally writes the same as JSON / Markdown files and colourised PNGs per image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lircdepth.argtypes import non_negative_int, positive_float
from lircdepth.atomic import write_text_atomic
from lircdepth.errors import UsageError
from lircdepth.metrics import DEFAULT_CAPS, format_markdown, write_json

GROUND_TRUTH_CHOICES = {
    "both": ("lidar_single", "lidar_accum"),
    "single": ("lidar_single",),
    "accumulated": ("lidar_accum",),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", required=True, help="a checkpoint written by `lircdepth train`"
    )
    parser.add_argument(
        "--data", required=True, help="derived dataset folder (`lircdepth prepare` output)"
    )
    parser.add_argument(
        "--split", default="test", help="index/<split>.txt to score (default: test)"
    )
    parser.add_argument(
        "--caps", type=positive_float, nargs="+", default=list(DEFAULT_CAPS), help="caps in metres"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument(
        "--save-png", type=Path, default=None, help="folder for colourised depth/error PNGs"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--amp", choices=("none", "bf16", "fp16"), default="none")
    parser.add_argument(
        "--workers", type=non_negative_int, default=0, help="data-loading processes"
    )
    parser.add_argument(
        "--max-images",
        type=non_negative_int,
        default=0,
        help="score only the first N images (0: all)",
    )
    parser.add_argument(
        "--ground-truth",
        choices=("both", "single", "accumulated"),
        default="both",
        help="score against the single-scan lidar (the paper's), the accumulated map, or both",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from lircdepth.training.evaluate import evaluate_checkpoint

    if not Path(args.checkpoint).is_file():
        raise UsageError(f"checkpoint not found: {args.checkpoint}")
    report = evaluate_checkpoint(
        args.checkpoint,
        args.data,
        split=args.split,
        caps=args.caps,
        device=args.device,
        amp=args.amp,
        png_dir=args.save_png,
        workers=args.workers,
        max_images=args.max_images,
        progress=not args.no_progress,
        ground_truths=GROUND_TRUTH_CHOICES[args.ground_truth],
    )
    name = Path(args.checkpoint).name
    tables = []
    for truth, metrics in report["metrics_by_ground_truth"].items():
        title = (
            f"{report['arch']} step {report['global_step']} on {args.split} ({name}), "
            f"ground truth: {report['ground_truths'][truth]}"
        )
        tables.append(format_markdown(metrics, title=title))
    table = "\n".join(tables)
    print(table)
    if args.json:
        write_json(report, args.json)
    if args.markdown:
        write_text_atomic(args.markdown, table)
    return 0
