"""The end-to-end demo: synthetic world -> prepare -> train -> evaluate -> export -> ROS replay -> report.

Every step skips work already on disk (delete a step's folder to redo it), so a second
run is quick. With `--dataroot` and `--checkpoint` the replay part runs on real
nuScenes with a trained student instead of the synthetic world.
ROS pieces (node, player, online evaluator) run as separate processes, as a robot
would run them; `--skip-ros` stops after the offline part.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from lircdepth.argtypes import positive_int
from lircdepth.console import show_notes
from lircdepth.pipeline import offline_part, step
from lircdepth.stage_clock import StageClock
from lircdepth_ros.demo.replay import replay_scenes
from lircdepth_ros.demo.report import write_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)"
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_const", dest="preset", const="quick", help="smoke run (minutes)"
    )
    size.add_argument(
        "--full",
        action="store_const",
        dest="preset",
        const="full",
        help="more scenes and steps: better numbers, about 55 minutes on 2 idle cores",
    )
    parser.set_defaults(preset="default")
    for name, text in (
        ("scenes", "synthetic scenes"),
        ("keyframes", "keyframes per synthetic scene"),
        ("width", "synthetic image width"),
        ("height", "synthetic image height"),
    ):
        parser.add_argument(
            f"--{name}", type=positive_int, default=None, help=f"{text} (default: preset)"
        )
    parser.add_argument("--seed", type=int, default=0, help="world and training seed")
    parser.add_argument(
        "--max-steps", type=positive_int, default=None, help="override training steps per network"
    )
    parser.add_argument(
        "--dataroot", type=Path, help="real nuScenes dataroot: replay-evaluate it instead"
    )
    parser.add_argument("--version", default="v1.0-mini", help="nuScenes version of --dataroot")
    parser.add_argument("--checkpoint", type=Path, help="trained student for --dataroot")
    parser.add_argument("--skip-ros", action="store_true", help="stop after the offline steps")
    parser.add_argument(
        "--rig",
        choices=["front", "full"],
        default="front",
        help="front: CAM_FRONT + RADAR_FRONT as published (default); full: six cameras and "
        "five radars, one node, per-camera scores and a surround picture (OUT/rig_full)",
    )


def run(args: argparse.Namespace) -> int:
    show_notes("lircdepth.pipeline", "lircdepth.training")  # stage banners, resume notes
    if args.rig == "full":
        from lircdepth_ros.demo.rig import run_rig  # the rig demo's heavy imports, only for it

        return run_rig(args)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    clock = StageClock()
    offline: dict[str, dict] = {}
    if args.dataroot:
        if not args.checkpoint:
            raise SystemExit("--dataroot needs --checkpoint (a trained student)")
        dataroot, version, prepared, student = args.dataroot, args.version, None, args.checkpoint
    else:
        version = "v1.0-mini"
        dataroot, prepared, student, offline = offline_part(args, out, clock)
    online = {}
    if not args.skip_ros:
        step("ROS 2 replay: bag -> lircdepth_node -> online evaluation")
        with clock.stage("ROS 2 replay"):
            online = replay_scenes(dataroot, version, prepared, student, out)
    report = write_report(out, offline, online, clock)
    print(f"\n{clock.markdown()}\nreport: {report}")
    shutil.copy(report, out / "README.md")
    return 0
