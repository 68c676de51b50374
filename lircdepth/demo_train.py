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
from multiprocessing.connection import wait
from pathlib import Path

from lircdepth.atomic import write_json_atomic
from lircdepth.errors import JobError
from lircdepth.stage_clock import StageClock


class TrainingRunFailed(JobError, RuntimeError):
    """A training process exited with an error; the message names its log."""


def _train_in_child(options: argparse.Namespace, log_path: str, times_path: str) -> None:
    """Child process: train with stdout/stderr in `log_path`, then write its own times."""
    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    from lircdepth.training.trainer import train

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
        _join_all(processes, logs)
    for name, options in runs.items():
        times = json.loads((logs / f"train_{name}.times.json").read_text())
        clock.add_part(
            f"train {name}: {options.max_steps} steps",
            times["wall_s"],
            times["cpu_s"],
            images=options.max_steps * options.batch_size,
        )


def _join_all(processes: dict[str, multiprocessing.Process], logs: Path) -> None:
    pending = dict(processes)
    try:
        while pending:
            wait([p.sentinel for p in pending.values()])
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
        for process in pending.values():
            process.terminate()
            process.join()


def validation_lines(logs: Path, name: str) -> list[str]:
    """The run's "validation MAE" lines from its log, for the console."""
    log = logs / f"train_{name}.log"
    if not log.exists():
        return []
    return [line.strip() for line in log.read_text().splitlines() if "validation MAE" in line]
