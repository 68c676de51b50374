"""Train the teacher (CaFNet) or the student (LiRCDepth): `lircdepth train MODE [ARGS.txt] [--flag value ...]`.

ARGS.txt is an upstream-style argument file (one `--flag value` per line); flags on the
command line override it. Under `torchrun --nproc_per_node N -m lircdepth train ...`
the run is distributed (DDP); without a launcher it is one process.
"""

from __future__ import annotations

import argparse

from lircdepth.console import show_notes
from lircdepth.errors import UsageError
from lircdepth.training.options import (
    MODES,
    TrainingSetupError,
    add_training_arguments,
    argument_file_line_to_args,
    resolve_options,
)

POSITIONALS = ("mode", "args_file")
GLOBAL_FLAGS = ("command", "debug")  # flags of `lircdepth` itself, not training options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # argparse's documented hook, set on this parser (mypy forbids assigning to a method).
    parser.convert_arg_line_to_args = argument_file_line_to_args  # type: ignore[method-assign,assignment]
    parser.add_argument("mode", choices=MODES, help="which network to train")
    parser.add_argument(
        "args_file", nargs="?", default=None, help="argument file, one `--flag value` per line"
    )
    add_training_arguments(parser, suppress_defaults=True)


def options_from_args(args: argparse.Namespace) -> argparse.Namespace:
    """The resolved options: defaults < args_file < flags given on the command line."""
    overrides = {
        k: v for k, v in vars(args).items() if k not in POSITIONALS and not k.startswith("_")
    }
    for name in GLOBAL_FLAGS:
        overrides.pop(name, None)
    try:
        return resolve_options(args.mode, args.args_file, overrides)
    except TrainingSetupError:
        raise
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(str(error)) from error


def run(args: argparse.Namespace) -> int:
    from lircdepth.training.trainer import train

    show_notes("lircdepth.training")
    train(options_from_args(args))
    return 0
