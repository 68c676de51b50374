"""Continuing a run must not change what it trains: refuse changed options instead of recording them.

A resumed run reloads the optimiser and schedule of `last.pt`, so a new `--learning_rate`
would be written to `options.txt` while the old one goes on being used. Only options that
do not change the training itself may differ; `--max_steps` / `--num_epochs` extend a run.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lircdepth.atomic import remove_stale_temps
from lircdepth.training.options import TrainingSetupError

LOG = logging.getLogger(__name__)

# Options a resumed run may change: how long, where, how fast, how much is logged.
RESUMABLE = frozenset(
    {
        "max_steps",
        "num_epochs",
        "data_path",
        "log_directory",
        "model_name",
        "workers",
        "num_threads",
        "device",
        "progress",
        "resume",
        "log_freq",
        "image_log_freq",
        "eval_freq",
        "save_freq",
        "max_val_images",
        "debug_nan_at_step",
    }
)


def changed_options(stored: dict, current: argparse.Namespace) -> list[str]:
    """`--name old -> new` for every training-relevant option that differs from `stored`."""
    changes = []
    for name, value in sorted(vars(current).items()):
        if name in RESUMABLE or name not in stored:
            continue
        if stored[name] != value:
            changes.append(f"--{name} {stored[name]!r} -> {value!r}")
    return changes


def refuse_changed_options(
    stored: dict | None, current: argparse.Namespace, checkpoint: Path
) -> None:
    """Raise a usage error listing the options that differ from the run in `checkpoint`."""
    changes = changed_options(stored or {}, current)
    if changes:
        raise TrainingSetupError(
            f"{checkpoint} was trained with other options ({'; '.join(changes)}); "
            "continuing would train with the old ones and record the new",
            hint="use another --model_name for a new run, --no-resume to start this one over, "
            "or only --max_steps / --num_epochs to extend it",
        )


def clean_run_folder(run_dir: Path) -> None:
    """Remove temp files (e.g. `.last.pt.XXXX.tmp`) a killed run left behind."""
    for path in remove_stale_temps(run_dir):
        LOG.info("removed %s (left by an interrupted run)", path)
