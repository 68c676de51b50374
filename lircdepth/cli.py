"""The `lircdepth` command line: one program, one subcommand per job.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; modules are imported only when their subcommand runs, so
`lircdepth --help` is fast. The core's own subcommands are listed here; other installed
packages add theirs through the `lircdepth.commands` entry-point group (`lircdepth_ros`
adds `bag` and `demo`), so the core never names ROS code and runs where ROS is absent.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points

from lircdepth.errors import EXIT_CODES_HELP, EXIT_INTERRUPTED, Terminated, run_command

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("lircdepth.synth.cli", "generate a synthetic dataset in nuScenes format"),
    "prepare": ("lircdepth.data.prepare_cli", "derive training data from a nuScenes dataroot"),
    "train": ("lircdepth.training.cli", "train the teacher (CaFNet) or the student (LiRCDepth)"),
    "evaluate": ("lircdepth.training.evaluate_cli", "score a checkpoint at 50/70/80 m"),
    "predict": (
        "lircdepth.predict.cli",
        "depth for your own data: image + radar files, a nuScenes dataroot or ROS 2 bags",
    ),
    "export": ("lircdepth.inference.export_cli", "export a checkpoint to ONNX"),
    "import-checkpoint": (
        "lircdepth.models.import_cli",
        "convert the authors' published LiRCDepth/CaFNet checkpoint to a project checkpoint",
    ),
    "bench": ("lircdepth.bench_cli", "run the speed benchmarks"),
}
ENTRY_POINT_GROUP = "lircdepth.commands"


def subcommands() -> dict[str, tuple[str, str]]:
    """The core's subcommands and those other installed packages register (entry points:
    `name = module`, the help text is the module's first docstring line)."""
    found = dict(SUBCOMMANDS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, (entry.value, ""))
    return found


def _help_line(module_name: str) -> str:
    """A registered subcommand's help: the first line of its module's docstring."""
    doc = importlib.import_module(module_name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


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
    for name, (module_name, help_text) in subcommands().items():
        if not help_text and chosen in (name, None):
            help_text = _help_line(module_name)
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


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` (a KeyboardInterrupt) in this process's main thread, so a
    job ends as after Ctrl-C: temp files removed, locks released, exit 143. Only the first
    SIGTERM raises (the clean-up is not interrupted twice); forked workers (prepare's pool,
    DataLoader workers) inherit the handler but end as before, killed by the signal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def terminate(signum: int, frame) -> None:
        if os.getpid() != owner:  # a forked worker: die of the signal, as without a handler
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        signal.signal(signum, signal.SIG_IGN)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Parse, run the subcommand, and map every failure to one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    debug = args.debug or os.environ.get("LIRCDEPTH_DEBUG", "") not in ("", "0")
    with sigterm_as_interrupt():
        return run_command(command_name(args), lambda: args._run(args), debug=debug)
