"""The `lircdepth` command line: one program, one subcommand per job.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; modules are imported only when their subcommand runs, so
`lircdepth --help` is fast and the core never imports ROS unless a ROS job is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from lircdepth.errors import EXIT_CODES_HELP, EXIT_INTERRUPTED, run_command

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("lircdepth.synth.cli", "generate a synthetic dataset in nuScenes format"),
    "prepare": ("lircdepth.data.prepare_cli", "derive training data from a nuScenes dataroot"),
    "train": ("lircdepth.training.cli", "train the teacher (CaFNet) or the student (LiRCDepth)"),
    "evaluate": ("lircdepth.training.evaluate_cli", "score a checkpoint at 50/70/80 m"),
    "export": ("lircdepth.inference.export_cli", "export a checkpoint to ONNX"),
    "import-checkpoint": (
        "lircdepth.models.import_cli",
        "convert the authors' published LiRCDepth/CaFNet checkpoint to a project checkpoint",
    ),
    "bench": ("lircdepth.bench_cli", "run the speed benchmarks"),
    "bag": ("lircdepth_ros.bag.cli", "nuScenes -> ROS 2 bags, replay, online scoring"),
    "demo": ("lircdepth.demo", "the end-to-end demo on the synthetic world"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """Build the parser; only the subcommand named in argv has its module imported."""
    parser = argparse.ArgumentParser(
        prog="lircdepth",
        description="LiRCDepth: radar-camera depth estimation (data, training, "
        "evaluation, export, ROS 2 bag tools).",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="print the full traceback of an error (also LIRCDEPTH_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if name == chosen:
            module = importlib.import_module(module_name)
            sp = sub.add_parser(
                name,
                help=help_text,
                description=(module.__doc__ or help_text).strip().splitlines()[0],
                fromfile_prefix_chars="@",
            )
            module.add_arguments(sp)
            sp.set_defaults(_run=module.run)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def command_name(args: argparse.Namespace) -> str:
    """'train', 'bag play', ...: the name the one-line error message starts with."""
    action = getattr(args, "bag_command", None)
    return f"{args.command} {action}" if action else args.command


def main(argv: list[str] | None = None) -> int:
    """Parse, run the subcommand, and map every failure to one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    debug = args.debug or os.environ.get("LIRCDEPTH_DEBUG", "") not in ("", "0")
    return run_command(command_name(args), lambda: args._run(args), debug=debug)
