"""Export a checkpoint to ONNX (dynamic batch and image size unless fixed), checked against PyTorch.

lircdepth export --checkpoint student.pt --out student.onnx [--fixed-size 900 1600] [--opset 17]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lircdepth.argtypes import int_in_range, positive_float, positive_int
from lircdepth.errors import UsageError
from lircdepth.inference.export import (
    DEFAULT_OPSET,
    DEFAULT_TOLERANCE_M,
    OPSET_RANGE,
    export_onnx,
)
from lircdepth.inference.network import load_network
from lircdepth.inference.preprocess import plan_layout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="training checkpoint (student or teacher)"
    )
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    parser.add_argument(
        "--fixed-size",
        nargs=2,
        type=positive_int,
        metavar=("H", "W"),
        help="fix the camera image size (the model gets the network size, e.g. 900 1600 -> 896 x 1600); "
        "default: dynamic height and width",
    )
    parser.add_argument(
        "--fixed-batch",
        type=positive_int,
        metavar="B",
        help="fix the batch size (default: dynamic)",
    )
    parser.add_argument(
        "--opset",
        type=int_in_range(*OPSET_RANGE),
        default=DEFAULT_OPSET,
        help=f"ONNX opset version ({OPSET_RANGE[0]} to {OPSET_RANGE[1]})",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="export the student as trained, not its faster inference form",
    )
    parser.add_argument(
        "--tolerance",
        type=positive_float,
        default=DEFAULT_TOLERANCE_M,
        help="largest allowed ONNX vs PyTorch difference (m)",
    )


def run(args: argparse.Namespace) -> int:
    if not args.checkpoint.is_file():
        raise UsageError(f"--checkpoint {args.checkpoint} does not exist")
    fixed_size = None
    if args.fixed_size:
        try:
            layout = plan_layout(*args.fixed_size)
        except ValueError as error:
            raise UsageError(f"--fixed-size: {error}") from error
        fixed_size = (layout.network_height, layout.network_width)
    loaded = load_network(args.checkpoint, fast=not args.reference)
    checks = export_onnx(loaded, args.out, fixed_size, args.fixed_batch, args.opset, args.tolerance)
    size = "dynamic" if fixed_size is None else f"{fixed_size[0]} x {fixed_size[1]}"
    print(f"wrote {args.out} ({loaded.arch}, network input size {size}, opset {args.opset})")
    for check in checks:
        diffs = ", ".join(f"{name} {diff:.2e}" for name, diff in check.max_abs_diff.items())
        print(f"  check at {check.size[0]} x {check.size[1]}: max |onnxruntime - torch| {diffs}")
    return 0
