"""Derive the training dataset (radar points, lidar depth maps, labels, index) from nuScenes or ROS 2 bags.

`--dataroot DIR` prepares a nuScenes dataroot; `--bag BAG [BAG ...] --lidar TOPIC` prepares
ROS 2 bags (any layout; see lircdepth/data/bag_prepare.py) into the same dataset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lircdepth.argtypes import non_negative_int, positive_int
from lircdepth.data import storage
from lircdepth.data.accumulate import WINDOW_CHAINS
from lircdepth.data.association import PATCH_HALF_SIZE, AssociationConfig
from lircdepth.data.bag_prepare import ACCUMULATION, BagPrepareConfig, prepare_bags
from lircdepth.data.boxes import BOX_WINNERS, RADAR_BOX_CATEGORIES
from lircdepth.data.interpolate import DENSIFY_METHODS, InterpolationConfig
from lircdepth.data.nusc_sources import RADAR_FILTERS
from lircdepth.data.prepare import (
    DEFAULT_CAMERAS,
    MOVABLE_PREFIXES,
    ON_ERROR,
    SKIPPED_FILE,
    PrepareConfig,
    prepare,
)
from lircdepth.data.radar import BOX_TESTS, RADAR_PAIRINGS, RadarOptions
from lircdepth.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataroot", type=Path, default=None, help="nuScenes dataroot")
    bags = parser.add_argument_group("ROS 2 bags (instead of --dataroot)")
    bags.add_argument(
        "--bag",
        type=Path,
        nargs="+",
        default=None,
        help="bag folder(s), one scene each; split by bag",
    )
    bags.add_argument(
        "--lidar", default=None, help="lidar PointCloud2 topic or name (default: the bag's lidar)"
    )
    bags.add_argument(
        "--fixed-frame",
        default="map",
        help="TF frame the lidar and radar sweeps are moved through (default map)",
    )
    bags.add_argument(
        "--lidar-accumulation",
        choices=ACCUMULATION,
        default="single",
        help="single (default): single-scan supervision, the accumulated and "
        "interpolated maps come from the keyframe sweep alone (bags have no "
        "boxes to remove moving objects); window: +/- --accumulate-sweeps sweeps "
        "through TF, moving objects included (static scenes)",
    )
    parser.add_argument("--version", default="v1.0-mini", help="table folder, e.g. v1.0-trainval")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="processes (one scene each)"
    )
    parser.add_argument("--scenes", nargs="+", default=None, help="scene names or tokens")
    parser.add_argument(
        "--accumulate-sweeps",
        type=non_negative_int,
        default=80,
        help="lidar sweeps (20 Hz sample_data chain) each way for the accumulated map "
        "(published: 80)",
    )
    parser.add_argument(
        "--accumulate-sweeps-test",
        type=non_negative_int,
        default=24,
        help="the same for scenes only in the test split, counted along "
        "--accumulate-test-chain (published: 24 keyframes)",
    )
    parser.add_argument(
        "--accumulate-test-chain",
        choices=WINDOW_CHAINS,
        default="keyframes",
        help="what the test window counts: keyframes (published, about +/- 12 s at 24) or "
        "lidar sweeps (+/- 1.2 s at 24)",
    )
    parser.add_argument(
        "--densify",
        choices=DENSIFY_METHODS,
        default="linear",
        help='"D" target: linear interpolation (published) or the edge-preserving '
        "see-through cleanup + nearest fill",
    )
    parser.add_argument(
        "--movable-prefixes",
        nargs="+",
        default=list(MOVABLE_PREFIXES),
        help="categories whose boxes are taken from the current frame only",
    )
    parser.add_argument(
        "--cameras",
        nargs="+",
        default=list(DEFAULT_CAMERAS),
        metavar="CAM",
        help="camera channels to prepare, one sample per keyframe and camera, or 'all' "
        "(default CAM_FRONT, the published setting)",
    )
    parser.add_argument(
        "--radars",
        "--radar-channels",
        dest="radars",
        nargs="+",
        default=list(RadarOptions().channels),
        metavar="RADAR",
        help="radar channels projected into every camera (nearest radar wins a pixel), "
        "or 'all' (default RADAR_FRONT; --radar-channels is the old name)",
    )
    parser.add_argument(
        "--radar-sweeps", type=non_negative_int, default=0, help="radar sweeps each way"
    )
    parser.add_argument(
        "--radar-keyframes", type=non_negative_int, default=0, help="radar keyframes each way"
    )
    parser.add_argument(
        "--radar-filters",
        choices=tuple(RADAR_FILTERS),
        default="none",
        help="none: every radar point (published); devkit: the devkit's default state filters",
    )
    parser.add_argument(
        "--radar-box-test",
        choices=BOX_TESTS,
        default="strict",
        help="radar point to object box: strict points-in-box (published) or grown "
        "(0.5 m margin, height ignored, +/- 1.7 degrees)",
    )
    parser.add_argument(
        "--radar-box-categories",
        nargs="+",
        default=list(RADAR_BOX_CATEGORIES),
        metavar="CATEGORY",
        help="categories (prefixes) whose boxes radar points are associated with "
        "(published: the 7 default ones)",
    )
    parser.add_argument(
        "--radar-box-winner",
        choices=BOX_WINNERS,
        default="later",
        help="box of a radar point inside several: the later annotation (published) or the "
        "nearest centre",
    )
    parser.add_argument(
        "--radar-pairing",
        choices=RADAR_PAIRINGS,
        default="keyframe",
        help="each camera image gets the sample's radar sweep (keyframe, published) or each "
        "radar's sweep nearest to that image's time (camera, as lircdepth_node pairs online)",
    )
    parser.add_argument(
        "--patch-size",
        type=non_negative_int,
        nargs=2,
        default=list(PATCH_HALF_SIZE),
        metavar=("V", "U"),
        help="association window without a box: +/- V rows and +/- U columns at 1600 x 900, "
        "scaled with the image (published: 50 150)",
    )
    parser.add_argument(
        "--split-seed", type=int, default=0, help="seed of the by-scene split (non-official scenes)"
    )
    parser.add_argument("--copy-images", action="store_true", help="copy images into --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--on-error",
        choices=ON_ERROR,
        default="stop",
        help="stop at the first unreadable input (default) or skip that keyframe and list "
        f"it (also in OUT/index/{SKIPPED_FILE})",
    )


def config_from_args(args: argparse.Namespace) -> PrepareConfig:
    return PrepareConfig(
        dataroot=args.dataroot,
        version=args.version,
        out=args.out,
        cameras=tuple(args.cameras),
        workers=args.workers,
        scenes=args.scenes,
        accumulate_sweeps=args.accumulate_sweeps,
        accumulate_sweeps_test=args.accumulate_sweeps_test,
        accumulate_test_chain=args.accumulate_test_chain,
        movable_prefixes=tuple(args.movable_prefixes),
        radar=RadarOptions(
            channels=tuple(args.radars),
            sweeps=args.radar_sweeps,
            keyframes=args.radar_keyframes,
            filters=args.radar_filters,
            box_test=args.radar_box_test,
            box_categories=tuple(args.radar_box_categories),
            box_winner=args.radar_box_winner,
            pairing=args.radar_pairing,
        ),
        interpolation=InterpolationConfig(method=args.densify),
        association=AssociationConfig(patch_half_size=tuple(args.patch_size)),
        split_seed=args.split_seed,
        copy_images=args.copy_images,
        progress=not args.no_progress,
        on_error=args.on_error,
    )


def shared_scenes(index: dict[str, list[dict]]) -> set[str]:
    """Scenes that are in both val and test (too few scenes to hold them apart)."""
    scenes = {split: {r["scene_name"] for r in records} for split, records in index.items()}
    return scenes.get("val", set()) & scenes.get("test", set())


def bag_config_from_args(args: argparse.Namespace) -> BagPrepareConfig:
    return BagPrepareConfig(
        bags=tuple(args.bag),
        out=args.out,
        cameras=tuple(args.cameras),
        radars=tuple(args.radars),
        lidar=args.lidar,
        fixed_frame=args.fixed_frame,
        accumulation=args.lidar_accumulation,
        accumulate_sweeps=args.accumulate_sweeps,
        interpolation=InterpolationConfig(method=args.densify),
        association=AssociationConfig(patch_half_size=tuple(args.patch_size)),
        split_seed=args.split_seed,
        progress=not args.no_progress,
        on_error=args.on_error,
    )


def run(args: argparse.Namespace) -> int:
    if (args.dataroot is None) == (args.bag is None):
        raise UsageError("give --dataroot (nuScenes) or --bag (ROS 2 bags)")
    if args.bag is not None:
        index = prepare_bags(bag_config_from_args(args))
    else:
        index = prepare(config_from_args(args))
    counts = ", ".join(f"{split} {len(records)}" for split, records in index.items())
    print(f"prepared {args.out}: {counts} samples (index in {args.out / 'index'})")
    skipped = storage.read_index(args.out / "index" / SKIPPED_FILE)
    for entry in skipped:
        print(f"skipped {entry['scene_name']} {entry['camera_token']}: {entry['error']}")
    shared = shared_scenes(index)
    if shared:
        print(
            f"lircdepth prepare: warning: val and test are the same scene(s) "
            f"({', '.join(sorted(shared))}): test scores are not held out; "
            "prepare 3 or more scenes for separate val and test scenes",
            file=sys.stderr,
        )
    return 0
