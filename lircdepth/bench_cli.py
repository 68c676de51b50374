"""Run the speed benchmarks, each printing a table.

    lircdepth bench inference [ARGS...]   DepthEstimator: engines x precisions x resolutions
    lircdepth bench precision [ARGS...]   accuracy of bf16 / int8 against fp32 on a test split
    lircdepth bench models [ARGS...]      the networks alone (lircdepth.models.benchmark)
    lircdepth bench prepare [ARGS...]     dataset preparation (bench/bench_prepare.py)
    lircdepth bench synth [ARGS...]       synthetic world generation (bench/bench_synth.py)
    lircdepth bench node [ARGS...]        ROS node latency and overhead (bench/bench_node.py)
    lircdepth bench ablation [ARGS...]    distillation ablation over seeds (bench/bench_ablation.py)
    lircdepth bench all                   every benchmark present, with its defaults (not precision)

ARGS go to the chosen benchmark unchanged (`lircdepth bench inference --help`).
"""

from __future__ import annotations

import argparse
import importlib
import runpy
import sys
from collections.abc import Callable
from pathlib import Path

from lircdepth.errors import UsageError
from lircdepth.resources import shipped_file

# name -> benchmark module exposing main(argv) -> int
BENCH_MODULES = {
    "inference": "lircdepth.inference.benchmark",
    "models": "lircdepth.models.benchmark",
    "precision": "lircdepth.inference.precision",
}
# name -> script in bench/ run as __main__
BENCH_SCRIPTS = {
    "prepare": "bench_prepare.py",
    "synth": "bench_synth.py",
    "node": "bench_node.py",
    "ablation": "bench_ablation.py",
}
BENCHMARKS = (*BENCH_MODULES, *BENCH_SCRIPTS)
# Need a trained checkpoint and data, or train for long, so `all` (defaults only) leaves them out.
NEEDS_ARGUMENTS = ("precision", "ablation")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", choices=(*BENCHMARKS, "all"), help="which benchmark to run")
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments for that benchmark")


def find_benchmark(name: str) -> Callable[[list[str]], int] | None:
    """The benchmark's main(argv), or None when its module or script is not in this tree."""
    if name in BENCH_MODULES:
        try:
            return importlib.import_module(BENCH_MODULES[name]).main
        except ModuleNotFoundError as error:
            if error.name != BENCH_MODULES[name]:
                raise
            return None
    script = shipped_file(f"bench/{BENCH_SCRIPTS[name]}")
    return (lambda argv: _run_script(script, argv)) if script is not None else None


def _run_script(script: Path, argv: list[str]) -> int:
    saved = sys.argv
    sys.argv = [str(script), *argv]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as finished:
        return finished.code if isinstance(finished.code, int) else int(finished.code is not None)
    finally:
        sys.argv = saved
    return 0


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
        status = main([] if args.benchmark == "all" else list(args.bench_args)) or status
    return status
