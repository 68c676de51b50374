"""Generate a synthetic world in the exact nuScenes format, then load it with the devkit.

Prints a summary read back through nuscenes-devkit and saves a preview picture of the
first keyframe with lidar and radar projected over it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nuscenes.nuscenes import NuScenes

from lircdepth.argtypes import positive_int
from lircdepth.errors import UsageError
from lircdepth.synth.config import RIGS, SynthConfig
from lircdepth.synth.generate import generate
from lircdepth.synth.preview import render_preview, render_rig_preview
from lircdepth.synth.summary import summarize

DEFAULTS = SynthConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="dataroot to write")
    parser.add_argument(
        "--scenes", type=positive_int, default=DEFAULTS.scenes, help="number of scenes"
    )
    parser.add_argument(
        "--keyframes",
        type=positive_int,
        default=DEFAULTS.keyframes,
        help="keyframes (samples) per scene",
    )
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="same seed, same bytes")
    parser.add_argument(
        "--width", type=positive_int, default=DEFAULTS.width, help="camera image width"
    )
    parser.add_argument(
        "--height", type=positive_int, default=DEFAULTS.height, help="camera image height"
    )
    parser.add_argument(
        "--version", default=DEFAULTS.version, help="table folder name (the devkit's version)"
    )
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="scenes rendered in parallel"
    )
    parser.add_argument(
        "--rig",
        choices=tuple(RIGS),
        default=DEFAULTS.rig,
        help="front: CAM_FRONT + RADAR_FRONT + LIDAR_TOP (the published setting, default); "
        "full: nuScenes' six cameras, five radars and LIDAR_TOP",
    )
    parser.add_argument(
        "--no-camera-sweeps",
        dest="camera_sweeps",
        action="store_false",
        help="write camera images at keyframes only (12 Hz sweeps are written by default)",
    )
    parser.add_argument(
        "--preview",
        type=Path,
        default=None,
        help="preview PNG path (default: OUT/preview.png; the full rig also writes "
        "OUT/preview_rig.png, its six cameras with every radar)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = SynthConfig(
            scenes=args.scenes,
            keyframes=args.keyframes,
            seed=args.seed,
            width=args.width,
            height=args.height,
            version=args.version,
            camera_sweeps=args.camera_sweeps,
            rig=args.rig,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    start = time.perf_counter()
    root = generate(args.out, config, workers=max(args.workers, 1))
    seconds = time.perf_counter() - start
    nusc = NuScenes(version=config.version, dataroot=str(root), verbose=False)
    print(f"wrote {root} ({config.rig} rig, {config.width}x{config.height}, seed {config.seed})")
    print("\n".join(summarize(nusc)))
    keyframes = config.scenes * config.keyframes
    print(f"generation {seconds:.1f} s, {seconds / keyframes:.2f} s per keyframe")
    preview = render_preview(root, config.version, args.preview or root / "preview.png", nusc=nusc)
    print(f"preview {preview}")
    if config.rig == "full":
        print(
            f"preview {render_rig_preview(root, config.version, root / 'preview_rig.png', nusc=nusc)}"
        )
    return 0
