"""The demo's training runs, in waves of processes side by side, one core each.

Why processes and not threads: at the demo's small input a training step is hundreds of
small operations, and two threads in one process ran a teacher step only about 1.2x
faster than one thread (measured on 2 cores), while two one-thread processes keep both
cores busy. The teacher comes first, alone (the distilled student needs it; its 2
threads beat an idle core), then both students together, so that they differ only by
distillation, not by load or thread count.
Each run keeps its argument file's thread count, so the float order, and with it the
numbers, does not depend on how many cores the machine has.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections.abc import Mapping
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from tqdm import tqdm

from lircdepth.atomic import write_json_atomic
from lircdepth.console import show_notes
from lircdepth.errors import JobError
from lircdepth.stage_clock import StageClock
from lircdepth.training.logger import PROGRESS_FILE

POLL_SECONDS = 2.0  # how often the console bars read the runs' progress.json


class TrainingRunFailed(JobError, RuntimeError):
    """A training process exited with an error; the message names its log."""


def _train_in_child(options: argparse.Namespace, log_path: str, times_path: str) -> None:
    """Child process: train with stdout/stderr in `log_path`, then write its own times."""
    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    from lircdepth.training.trainer import train

    show_notes("lircdepth.training")  # as `lircdepth train` shows them
    wall, cpu = time.perf_counter(), time.process_time()
    train(options)
    write_json_atomic(
        Path(times_path),
        {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu},
    )


def train_side_by_side(runs: dict[str, argparse.Namespace], logs: Path, clock: StageClock) -> None:
    """Train every run of `runs` (name -> resolved options) at once, one process each.

    The clock gets one row for the whole wave and one part row per network (its own
    wall and CPU seconds and images/s). A failing run stops the others.
    """
    logs.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    processes = {}
    title = " + ".join(runs) if len(runs) > 1 else next(iter(runs))
    with clock.stage(f"train {title}" + (" (side by side)" if len(runs) > 1 else "")):
        for name, options in runs.items():
            log, times = logs / f"train_{name}.log", logs / f"train_{name}.times.json"
            times.unlink(missing_ok=True)
            process = context.Process(
                target=_train_in_child, args=(options, str(log), str(times)), name=name
            )
            process.start()
            processes[name] = process
        _join_all(processes, logs, {name: _run_dir(options) for name, options in runs.items()})
    for name, options in runs.items():
        times = json.loads((logs / f"train_{name}.times.json").read_text())
        clock.add_part(
            f"train {name}: {options.max_steps} steps",
            times["wall_s"],
            times["cpu_s"],
            images=options.max_steps * options.batch_size,
        )


def _run_dir(options: argparse.Namespace) -> Path:
    return Path(options.log_directory) / options.model_name


def _progress_bars(run_dirs: dict[str, Path]) -> dict[str, tqdm]:
    """One bar per run (step of total, loss, images/s, ETA), fed from its progress.json."""
    return {
        name: tqdm(total=None, desc=f"train {name}", unit="step", position=i, dynamic_ncols=True)
        for i, name in enumerate(run_dirs)
    }


def _update(bar: tqdm, run_dir: Path) -> None:
    try:
        progress = json.loads((run_dir / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return  # not written yet (or being replaced): the next poll reads it
    if progress["step"] <= bar.n:
        return  # nothing new: no redraw (a log file would fill with identical lines)
    bar.total = progress["total"]
    bar.set_postfix(
        loss=f"{progress['loss']:.4f}", img_s=f"{progress['images_per_second']:.2f}", refresh=False
    )
    bar.update(progress["step"] - bar.n)


def _join_all(processes: Mapping[str, BaseProcess], logs: Path, run_dirs: dict[str, Path]) -> None:
    pending = dict(processes)
    bars = _progress_bars(run_dirs)
    try:
        while pending:
            wait([p.sentinel for p in pending.values()], timeout=POLL_SECONDS)
            for name, bar in bars.items():
                _update(bar, run_dirs[name])
            for name, process in list(pending.items()):
                if process.exitcode is None:
                    continue
                del pending[name]
                if process.exitcode != 0:
                    raise TrainingRunFailed(
                        f"training {name} exited with {process.exitcode}; see "
                        f"{logs / f'train_{name}.log'}"
                    )
    finally:
        for bar in bars.values():
            bar.close()
        for process in pending.values():
            process.terminate()
            process.join()


def validation_lines(logs: Path, name: str) -> list[str]:
    """The run's "validation MAE" lines from its log, for the console."""
    log = logs / f"train_{name}.log"
    if not log.exists():
        return []
    return [line.strip() for line in log.read_text().splitlines() if "validation MAE" in line]
