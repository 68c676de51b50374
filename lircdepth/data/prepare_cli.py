"""Derive the training dataset (radar points, lidar depth maps, labels, index) from nuScenes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lircdepth.data.interpolate import InterpolationConfig
from lircdepth.data.nusc_sources import PrepareInputError
from lircdepth.data.prepare import MOVABLE_PREFIXES, PrepareConfig, prepare
from lircdepth.data.radar import RadarOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataroot", type=Path, required=True, help="nuScenes dataroot")
    parser.add_argument("--version", default="v1.0-mini", help="table folder, e.g. v1.0-trainval")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--workers", type=int, default=1, help="processes (one scene each)")
    parser.add_argument("--scenes", nargs="+", default=None, help="scene names or tokens")
    parser.add_argument(
        "--accumulate-keyframes", type=int, default=80, help="lidar keyframes each way"
    )
    parser.add_argument(
        "--movable-prefixes",
        nargs="+",
        default=list(MOVABLE_PREFIXES),
        help="categories whose boxes are taken from the current frame only",
    )
    parser.add_argument("--radar-channels", nargs="+", default=["RADAR_FRONT"])
    parser.add_argument("--radar-sweeps", type=int, default=0, help="radar sweeps each way")
    parser.add_argument("--radar-keyframes", type=int, default=0, help="radar keyframes each way")
    parser.add_argument(
        "--split-seed", type=int, default=0, help="seed of the by-scene split (non-official scenes)"
    )
    parser.add_argument("--copy-images", action="store_true", help="copy images into --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def config_from_args(args: argparse.Namespace) -> PrepareConfig:
    return PrepareConfig(
        dataroot=args.dataroot,
        version=args.version,
        out=args.out,
        workers=args.workers,
        scenes=args.scenes,
        accumulate_keyframes=args.accumulate_keyframes,
        movable_prefixes=tuple(args.movable_prefixes),
        radar=RadarOptions(
            channels=tuple(args.radar_channels),
            sweeps=args.radar_sweeps,
            keyframes=args.radar_keyframes,
        ),
        interpolation=InterpolationConfig(),
        split_seed=args.split_seed,
        copy_images=args.copy_images,
        progress=not args.no_progress,
    )


def run(args: argparse.Namespace) -> int:
    try:
        index = prepare(config_from_args(args))
    except PrepareInputError as error:
        print(f"lircdepth prepare: error: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{split} {len(records)}" for split, records in index.items())
    print(f"prepared {args.out}: {counts} samples (index in {args.out / 'index'})")
    return 0
