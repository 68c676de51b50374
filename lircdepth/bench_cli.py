"""Run the speed benchmarks, each printing a table.

    lircdepth bench inference [ARGS...]   DepthEstimator: engines x precisions x resolutions
    lircdepth bench precision [ARGS...]   accuracy of bf16 / int8 against fp32 on a test split
    lircdepth bench models [ARGS...]      the networks alone
    lircdepth bench prepare [ARGS...]     dataset preparation
    lircdepth bench synth [ARGS...]       synthetic world generation
    lircdepth bench bagdata [ARGS...]     bag reading: JPEG decode at 1600x900, packed radar clouds
    lircdepth bench predict [ARGS...]     lircdepth predict over a synthetic dataroot (fps, resume)
    lircdepth bench ablation [ARGS...]    distillation ablation over seeds
    lircdepth bench node [ARGS...]        ROS node latency and overhead (with lircdepth_ros)
    lircdepth bench all                   every benchmark present, with its defaults (not precision)

ARGS go to the chosen benchmark unchanged (`lircdepth bench inference --help`). The core's
benchmarks live in `lircdepth/bench/`; packages add theirs through the
`lircdepth.benchmarks` entry-point group (`lircdepth_ros` adds `node`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from importlib.metadata import entry_points

from lircdepth.errors import UsageError

# name -> benchmark module exposing main(argv) -> int
CORE_BENCHMARKS = {
    name: f"lircdepth.bench.{name}"
    for name in (
        "inference",
        "models",
        "precision",
        "prepare",
        "synth",
        "bagdata",
        "predict",
        "ablation",
    )
}
ENTRY_POINT_GROUP = "lircdepth.benchmarks"
# Need a trained checkpoint and data, or train for long, so `all` (defaults only) leaves them out.
NEEDS_ARGUMENTS = ("precision", "ablation")


def benchmark_modules() -> dict[str, str]:
    """name -> module: the core's benchmarks and those installed packages register."""
    found = dict(CORE_BENCHMARKS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)
    return found


BENCHMARKS = tuple(benchmark_modules())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", choices=(*BENCHMARKS, "all"), help="which benchmark to run")
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments for that benchmark")


def find_benchmark(name: str) -> Callable[[list[str]], int] | None:
    """The benchmark's main(argv), or None when its module is not installed."""
    module_name = benchmark_modules().get(name)
    if module_name is None:
        return None
    try:
        return importlib.import_module(module_name).main
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return None


def run(args: argparse.Namespace) -> int:
    if args.benchmark == "all" and args.bench_args:
        if {"-h", "--help"} & set(args.bench_args):
            print(__doc__)
            return 0
        raise UsageError(
            f"bench all runs every benchmark with its defaults; it takes no arguments "
            f"(got {' '.join(args.bench_args)})"
        )
    if args.benchmark == "all":
        names = tuple(name for name in BENCHMARKS if name not in NEEDS_ARGUMENTS)
    else:
        names = (args.benchmark,)
    status = 0
    for name in names:
        main = find_benchmark(name)
        if main is None:
            print(f"benchmark '{name}' is not available in this installation", file=sys.stderr)
            status = status or 2
            continue
        print(f"== {name} ==", flush=True)
        status = _call(main, [] if args.benchmark == "all" else list(args.bench_args)) or status
    return status


def _call(main: Callable[[list[str]], int], argv: list[str]) -> int:
    """A benchmark's exit status; its own argparse exits (`--help`, a bad flag) included."""
    try:
        return main(argv) or 0
    except SystemExit as finished:
        return finished.code if isinstance(finished.code, int) else int(finished.code is not None)
