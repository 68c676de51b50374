"""Training options: upstream-style argument files, overridden by command-line flags.

An argument file holds one `--flag value` per line (blank lines and `#` comments are
allowed), as the reference's `python main_student.py ARGS.txt`. Resolution order:
built-in defaults < argument file < flags given on the command line. The resolved
options are written next to every checkpoint in the same format (`options.txt`), so a
run can be repeated with `lircdepth train MODE run_dir/options.txt`.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from lircdepth.atomic import write_text_atomic
from lircdepth.errors import UsageError

MODES = ("teacher", "student")

# method.md section 5: the published per-network settings that differ between the two.
MODE_DEFAULTS = {
    "teacher": {"learning_rate": 1e-4, "batch_size": 8},
    "student": {"learning_rate": 5e-5, "batch_size": 6},
}


class TrainingSetupError(UsageError, ValueError):
    """The options cannot make a run (e.g. distillation without a teacher checkpoint)."""


def argument_file_line_to_args(line: str) -> list[str]:
    """`--flag value  # comment` -> ["--flag", "value"] (argparse's default keeps the line whole)."""
    return shlex.split(line, comments=True)


def add_training_arguments(
    parser: argparse.ArgumentParser, suppress_defaults: bool = False
) -> None:
    """Register every training flag; with `suppress_defaults` only flags actually given appear."""
    data = parser.add_argument_group("data")
    add_data = _group_adder(data, suppress_defaults)
    add_data(
        "--data_path",
        type=str,
        default=None,
        help="derived dataset folder (`lircdepth prepare` output)",
    )
    add_data("--train_split", type=str, default="train")
    add_data(
        "--val_split",
        type=str,
        default="val",
        help="split scored at each validation, which chooses best.pt (default val; the "
        "published protocol scores test)",
    )
    add_data("--input_height", type=int, default=352, help="training crop height (multiple of 32)")
    add_data("--input_width", type=int, default=704, help="training crop width (multiple of 32)")
    add_data("--max_depth", type=float, default=100.0, help="network output range in metres")
    add_data("--augment", action=argparse.BooleanOptionalAction, default=True)
    add_data("--workers", type=int, default=4, help="data-loading processes per training process")
    add_data(
        "--max_val_images",
        type=int,
        default=0,
        help="validate on at most this many images (0: all)",
    )

    optim = parser.add_argument_group("optimisation")
    add_optim = _group_adder(optim, suppress_defaults)
    add_optim(
        "--batch_size",
        type=int,
        default=None,
        help="total over all processes (published; each of N processes takes 1/N, so it must "
        "divide evenly); default 8 teacher, 6 student",
    )
    add_optim(
        "--learning_rate", type=float, default=None, help="default 1e-4 teacher, 5e-5 student"
    )
    add_optim("--end_learning_rate", type=float, default=None, help="default 0.1 x learning_rate")
    add_optim("--adam_eps", type=float, default=1e-2)
    add_optim("--weight_decay", type=float, default=1e-4, help="on encoders; decoders get 0")
    add_optim("--num_epochs", type=int, default=200)
    add_optim("--max_steps", type=int, default=0, help="stop after this many steps (0: num_epochs)")
    add_optim(
        "--clip_grad_norm", type=float, default=0.0, help="max gradient norm (0: no clipping)"
    )
    add_optim(
        "--freeze_as_published",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="teacher: keep the first image conv and the ResNet batch-norm affines fixed",
    )

    teacher = parser.add_argument_group("teacher loss")
    add_teacher = _group_adder(teacher, suppress_defaults)
    add_teacher("--w_coarse_depth", type=float, default=0.5, help="coarse radar depth L1 weight")
    add_teacher("--w_confidence", type=float, default=1.0, help="radar confidence BCE weight")

    distill = parser.add_argument_group("student loss and distillation")
    add_distill = _group_adder(distill, suppress_defaults)
    add_distill(
        "--w_depth", type=float, default=1.0, help="uncertainty-rectified depth loss weight"
    )
    add_distill("--teacher_checkpoint", type=str, default=None, help="frozen CaFNet checkpoint")
    add_distill("--w_image_feature_distill", type=float, default=1.0)
    add_distill("--w_radar_feature_distill", type=float, default=1.0)
    add_distill("--w_pairwise_distill", type=float, default=1.0)
    add_distill("--w_inter_depth_distill", type=float, default=1.0)
    add_distill(
        "--w_smoothness",
        type=float,
        default=1e-3,
        help="edge-aware smoothness weight, teacher and student (published 0.001 for both)",
    )
    add_distill(
        "--pool_scale", type=float, default=0.2, help="pair-wise distillation pooling window"
    )
    add_distill("--distill_start_epoch", type=int, default=0)
    add_distill(
        "--depth_loss_broadcast",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="reproduce the published depth loss at batch > 1, whose weights mix across "
        "samples (an upstream defect; default: each sample's own weights)",
    )

    run = parser.add_argument_group("run")
    add_run = _group_adder(run, suppress_defaults)
    add_run("--model_name", type=str, default=None, help="run folder name (default: the mode)")
    add_run(
        "--init_checkpoint",
        type=str,
        default=None,
        help="start from this checkpoint's weights (a project checkpoint or the authors' "
        "published file of the same network) with a fresh optimiser at step 0",
    )
    add_run("--log_directory", type=str, default="runs")
    add_run(
        "--model_config", type=json.loads, default={}, help="JSON keyword arguments for build_model"
    )
    add_run("--device", choices=("auto", "cpu", "cuda"), default="auto")
    add_run(
        "--amp",
        choices=("none", "bf16", "fp16"),
        default="none",
        help="mixed precision (fp16: CUDA only)",
    )
    add_run("--seed", type=int, default=0)
    add_run(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also ask torch for deterministic kernels (slower on GPU)",
    )
    add_run(
        "--channels_last",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="weights and batches in channels_last memory (the student on one CPU thread: "
        "1.2x faster steps; same math, other float order)",
    )
    add_run(
        "--num_threads",
        type=int,
        default=0,
        help="torch CPU threads per process (0: torch default)",
    )
    add_run("--log_freq", type=int, default=10, help="steps between TensorBoard scalars")
    add_run(
        "--image_log_freq", type=int, default=200, help="steps between TensorBoard image panels"
    )
    add_run(
        "--eval_freq", type=int, default=1000, help="steps between validations (0: only at the end)"
    )
    add_run(
        "--best_per_metric",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also keep best_<metric>.pt for every metric at the 80 m cap (the published "
        "protocol, with --val_split test --eval_freq 4500; default: one best.pt by MAE)",
    )
    add_run(
        "--save_freq",
        type=int,
        default=500,
        help="steps between `last.pt` saves (0: only at epoch ends and validations)",
    )
    add_run(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue from last.pt",
    )
    add_run(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="tqdm progress bar"
    )
    add_run(
        "--debug_nan_at_step",
        type=int,
        default=-1,
        help="fault injection for tests: make the loss NaN at this global step (-1: never)",
    )


def _group_adder(group, suppress_defaults: bool):
    """`group.add_argument` that drops the default when only explicit flags must appear."""

    def add(*names, **kwargs):
        if suppress_defaults:
            kwargs["default"] = argparse.SUPPRESS
        group.add_argument(*names, **kwargs)

    return add


def build_parser() -> argparse.ArgumentParser:
    """The full options parser with defaults (argument files and tests use it)."""
    parser = argparse.ArgumentParser(prog="lircdepth train", fromfile_prefix_chars="@")
    # argparse's documented hook, set on this parser (mypy forbids assigning to a method).
    parser.convert_arg_line_to_args = argument_file_line_to_args  # type: ignore[method-assign,assignment]
    add_training_arguments(parser)
    return parser


def read_argument_file(path: str | Path) -> list[str]:
    """The flags of an argument file as an argv list."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"argument file not found: {path}")
    args: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            args += argument_file_line_to_args(line)
        except ValueError as error:
            raise ValueError(f"{path}:{number}: cannot parse line {line!r}: {error}") from error
    return args


def resolve_options(
    mode: str, args_file: str | Path | None = None, overrides: dict | None = None
) -> argparse.Namespace:
    """Defaults < argument file < overrides, then mode defaults and checks."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    parser = build_parser()
    file_args = read_argument_file(args_file) if args_file else []
    options, unknown = parser.parse_known_args(file_args)
    if unknown:
        raise ValueError(f"{args_file}: unknown flags {unknown}")
    for key, value in (overrides or {}).items():
        if not hasattr(options, key):
            raise ValueError(f"unknown training option {key!r}")
        setattr(options, key, value)
    options.mode = mode
    return _complete(options)


NON_NEGATIVE = (
    "max_steps",
    "workers",
    "num_threads",
    "max_val_images",
    "log_freq",
    "image_log_freq",
    "eval_freq",
    "save_freq",
    "end_learning_rate",
    "weight_decay",
    "clip_grad_norm",
)


# Loss weights and other factors: 0 switches a term off; negative would reward the error.
NON_NEGATIVE_FLOATS = (
    "w_coarse_depth",
    "w_confidence",
    "w_depth",
    "w_image_feature_distill",
    "w_radar_feature_distill",
    "w_pairwise_distill",
    "w_inter_depth_distill",
    "w_smoothness",
)
POSITIVE = ("learning_rate", "max_depth", "adam_eps", "pool_scale", "input_height", "input_width")
NON_NEGATIVE_INTS = ("distill_start_epoch",)


def _check_ranges(options: argparse.Namespace) -> None:
    """Every number in its range (and finite): a negative weight or epsilon trains nonsense."""
    for name in (*NON_NEGATIVE, *NON_NEGATIVE_FLOATS, *NON_NEGATIVE_INTS, *POSITIVE):
        value = getattr(options, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            raise ValueError(f"--{name} must be a number, got {value!r}")
        if abs(value) == float("inf"):
            raise ValueError(f"--{name} must be finite, got {value}")
        if name in POSITIVE and not value > 0:
            raise ValueError(f"--{name} must be greater than 0, got {value}")
        if value < 0:
            raise ValueError(f"--{name} must be 0 or more, got {value}")
    if options.pool_scale > 1:
        raise ValueError(
            f"--pool_scale must be at most 1 (a share of the map), got {options.pool_scale}"
        )


def _check_model_name(name: str) -> None:
    """The run folder's name: one non-empty path component (not the log root, not above it)."""
    if not name.strip() or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"--model_name must name one folder inside --log_directory, got {name!r}")


def _complete(options: argparse.Namespace) -> argparse.Namespace:
    """Fill mode-dependent defaults and reject settings that cannot train."""
    for key, value in MODE_DEFAULTS[options.mode].items():
        if getattr(options, key) is None:
            setattr(options, key, value)
    if options.end_learning_rate is None:
        options.end_learning_rate = 0.1 * options.learning_rate
    if options.model_name is None:
        options.model_name = options.mode
    if not options.data_path:
        raise ValueError("--data_path is required (the `lircdepth prepare` output folder)")
    for name in ("input_height", "input_width"):
        if getattr(options, name) % 32:
            raise ValueError(f"--{name} must be a multiple of 32, got {getattr(options, name)}")
    if options.batch_size < 1 or options.num_epochs < 1:
        raise ValueError("--batch_size and --num_epochs must be at least 1")
    _check_ranges(options)
    _check_model_name(options.model_name)
    if not isinstance(options.model_config, dict):
        raise ValueError(f"--model_config must be a JSON object, got {options.model_config!r}")
    from lircdepth.models.checkpoint_schema import check_model_config

    check_model_config(options.model_config)
    return options


def write_argument_file(options: argparse.Namespace, path: str | Path) -> None:
    """Write resolved options as an argument file that `resolve_options` reads back."""
    lines = [f"# resolved options of a `lircdepth train {options.mode}` run"]
    for action in build_parser()._actions:
        if not action.option_strings or action.dest == "help":
            continue
        value = getattr(options, action.dest, None)
        if value is None:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            lines.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, dict):
            lines.append(f"{flag} {shlex.quote(json.dumps(value))}")
        else:
            lines.append(f"{flag} {shlex.quote(str(value))}")
    write_text_atomic(path, "\n".join(lines) + "\n")
