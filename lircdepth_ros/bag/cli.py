"""nuScenes -> ROS 2 bags, replay through rclpy, and online scoring of the node's depth.

lircdepth bag convert --dataroot DIR --version V --out BAGDIR [--scenes ...]
lircdepth bag play BAG [--rate R | --lockstep] [--to-node [--camera C --radar R]] [--clock]
                   [--loop [N]] [--remap FROM:=TO ...]
lircdepth bag evaluate --bag BAG [--cameras CAM ...] [--depth-topic T] [--json F] [--markdown F]
                       [--surround PNG]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from lircdepth.argtypes import non_negative_float, non_negative_int, positive_float
from lircdepth.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="bag_command", metavar="ACTION", required=True)

    convert = actions.add_parser("convert", help="write one ROS 2 bag per nuScenes scene")
    convert.add_argument("--dataroot", required=True, help="nuScenes dataroot (real or synthetic)")
    convert.add_argument(
        "--version", default="v1.0-mini", help="nuScenes version folder (default v1.0-mini)"
    )
    convert.add_argument(
        "--out", required=True, help="folder that receives one bag folder per scene"
    )
    convert.add_argument("--scenes", nargs="+", help="scene names or tokens (default: all)")
    convert.add_argument(
        "--cameras",
        nargs="+",
        default=["CAM_FRONT"],
        help="camera channels, or 'all' for every camera of the dataroot (default CAM_FRONT)",
    )
    convert.add_argument(
        "--radars",
        nargs="+",
        default=["RADAR_FRONT"],
        help="radar channels, or 'all' for every radar of the dataroot (default RADAR_FRONT)",
    )
    convert.add_argument(
        "--storage", choices=["mcap", "sqlite3"], default="mcap", help="bag storage (default mcap)"
    )
    convert.add_argument(
        "--radar-all-points",
        action="store_true",
        help="keep radar points the devkit's default filters drop",
    )
    convert.add_argument("--overwrite", action="store_true", help="replace existing bags")
    convert.add_argument(
        "--layout",
        choices=["lircdepth", "nuscenes2bag"],
        default="lircdepth",
        help="topic layout: this project's (default) or the community nuscenes2bag one "
        "(compressed cameras, packed radar, /tf only; see docs/ros.md)",
    )

    play = actions.add_parser("play", help="publish a bag through rclpy (no rosbag2 needed)")
    play.add_argument("bag", help="bag folder")
    pacing = play.add_mutually_exclusive_group()
    pacing.add_argument(
        "--rate", type=positive_float, help="speed factor (default 1 = recorded speed)"
    )
    pacing.add_argument(
        "--lockstep", action="store_true", help="wait for the node's depth before each camera frame"
    )
    play.add_argument(
        "--depth-topic",
        default="depth",
        help="the node's depth output (for --lockstep); {camera} stands for each image "
        "topic's camera, e.g. {camera}/depth for a rig node",
    )
    play.add_argument(
        "--lockstep-timeout",
        type=positive_float,
        default=30.0,
        help="seconds to wait for one depth answer",
    )
    play.add_argument(
        "--remap", nargs="+", default=[], metavar="FROM:=TO", help="publish bag topic FROM as TO"
    )
    play.add_argument(
        "--to-node",
        action="store_true",
        help="remap one camera (raw or compressed), its camera_info and one radar to the node's "
        "image (image/compressed), camera_info and radar topics",
    )
    play.add_argument(
        "--camera", default="CAM_FRONT", help="the camera of --to-node (default CAM_FRONT)"
    )
    play.add_argument(
        "--radar", default="RADAR_FRONT", help="the radar of --to-node (default RADAR_FRONT)"
    )
    play.add_argument(
        "--clock",
        action="store_true",
        help="publish /clock (the bag time) for nodes with use_sim_time",
    )
    play.add_argument(
        "--loop",
        type=non_negative_int,
        nargs="?",
        const=0,
        default=1,
        metavar="N",
        help="play the bag again and again (until stopped, or N times in all)",
    )
    play.add_argument(
        "--keep-collisions",
        action="store_true",
        help="publish bag topics the node publishes itself (/diagnostics) as recorded, "
        "not under /bag",
    )
    play.add_argument(
        "--wait-for-subscribers",
        type=non_negative_float,
        default=5.0,
        help="seconds to wait for image subscribers (with --lockstep: for the depth node "
        "itself; none by then is an error)",
    )

    evaluate = actions.add_parser(
        "evaluate", help="score the node's published depth against the bag's lidar"
    )
    evaluate.add_argument("--bag", required=True, help="bag folder that is being played")
    evaluate.add_argument(
        "--depth-topic",
        help="the node's depth topic (32FC1); with several cameras a template with {camera} "
        "(default: depth for one camera, {camera}/depth for several)",
    )
    evaluate.add_argument(
        "--cameras",
        "--camera",
        nargs="+",
        help="camera channels the depth belongs to; several: scored per camera and as a rig "
        "(default, or 'all': every camera the bag records)",
    )
    evaluate.add_argument(
        "--frames", choices=["keyframes", "all"], default="keyframes", help="frames to score"
    )
    evaluate.add_argument(
        "--caps", type=positive_float, nargs="+", default=[50.0, 70.0, 80.0], help="depth caps (m)"
    )
    evaluate.add_argument(
        "--timeout", type=positive_float, default=600.0, help="give up after this many seconds"
    )
    evaluate.add_argument(
        "--idle-timeout",
        type=positive_float,
        default=30.0,
        help="stop this long after the last frame",
    )
    evaluate.add_argument(
        "--node-timeout",
        type=positive_float,
        default=120.0,
        help="seconds to wait for a node publishing --depth-topic (none by then is an error)",
    )
    evaluate.add_argument(
        "--ready-file", help="touch this file once the depth publisher is matched"
    )
    evaluate.add_argument("--json", help="write results as JSON")
    evaluate.add_argument("--markdown", help="write the metrics table as Markdown")
    evaluate.add_argument(
        "--surround",
        metavar="PNG",
        help="write the surround picture (depth of every camera around a bird's-eye view)",
    )
    evaluate.add_argument(
        "--surround-sample",
        type=non_negative_int,
        default=0,
        help="keyframe sample of the surround picture (default 0, the first)",
    )


def parse_remaps(pairs: list[str]) -> dict[str, str]:
    remap = {}
    for pair in pairs:
        source, sep, target = pair.partition(":=")
        if not sep or not source or not target:
            raise UsageError(f"--remap expects FROM:=TO, got {pair!r}")
        remap[source] = target
    return remap


def run_play(args: argparse.Namespace) -> int:
    from lircdepth_ros.bag.play import PlayOptions, node_remap, play_bag

    remap = node_remap(args.camera, args.radar, args.bag) if args.to_node else {}
    options = PlayOptions(
        rate=args.rate,
        lockstep=args.lockstep,
        remap={**remap, **parse_remaps(args.remap)},
        depth_topic=args.depth_topic,
        lockstep_timeout=args.lockstep_timeout,
        wait_for_subscribers=args.wait_for_subscribers,
        clock=args.clock,
        loops=args.loop,
        keep_collisions=args.keep_collisions,
        paced_cameras=[args.camera] if args.to_node else None,
    )
    stats = play_bag(args.bag, options)
    print(
        f"published {stats.messages} messages ({stats.frames} camera frames, {stats.frames_answered} answered) "
        f"covering {stats.bag_seconds:.2f} s of recording in {stats.wall_seconds:.2f} s "
        f"({stats.speed:.2f}x recorded speed)"
    )
    if len(stats.frames_per_camera) > 1 and args.lockstep:
        answered = ", ".join(
            f"{c} {stats.answered_per_camera[c]}/{n}"
            for c, n in stats.frames_per_camera.items()
            if c in stats.answered_per_camera
        )
        print(f"answered per camera: {answered}")
    if stats.cameras_silent:
        print(f"no depth from: {', '.join(stats.cameras_silent)}")
    if stats.skipped:
        print(f"lircdepth bag play: warning: {stats.skipped}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.bag_command == "convert":
        from lircdepth_ros.bag.convert import convert_scenes

        bags = convert_scenes(
            args.dataroot,
            args.version,
            args.out,
            args.scenes,
            args.storage,
            args.cameras,
            args.radars,
            args.radar_all_points,
            args.overwrite,
            args.layout,
        )
        print("\n".join(str(b) for b in bags))
        return 0
    if args.bag_command == "play":
        return run_play(args)
    from lircdepth_ros.bag.evaluate import EvaluateOptions, evaluate_bag, results_markdown

    options = EvaluateOptions(
        depth_topic=args.depth_topic,
        cameras=args.cameras,
        frames=args.frames,
        caps=args.caps,
        timeout=args.timeout,
        idle_timeout=args.idle_timeout,
        ready_file=args.ready_file,
        json_path=args.json,
        markdown_path=args.markdown,
        node_timeout=args.node_timeout,
        surround_path=args.surround,
        surround_sample=args.surround_sample,
    )
    results = evaluate_bag(args.bag, options)
    print(results_markdown(results))
    counts = ("frames_expected", "frames_scored", "messages_ignored", "cameras_silent")
    print(json.dumps({k: results[k] for k in counts if k in results}))
    return 0
