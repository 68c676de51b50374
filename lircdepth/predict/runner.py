"""Run a depth network over a list of frames: batches, progress, resume, errors, summary.

`predict_frames` skips frames whose outputs are complete (see `outputs.is_complete`),
loads the others a batch at a time, runs `DepthEstimator.estimate_batch` (one forward per
batch of same-size frames) and writes each frame atomically. With `on_error="skip"` a
frame whose inputs cannot be used is listed (in the summary's `failed`) and the run goes
on; with "stop" its one-line error ends the run. The summary JSON is rewritten at the end.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from lircdepth.atomic import write_json_atomic
from lircdepth.errors import UserError
from lircdepth.predict.frames import FrameInput, FrameJob
from lircdepth.predict.outputs import OutputOptions, is_complete, write_frame

ON_ERROR = ("stop", "skip")
SUMMARY_FILE = "predict_summary.json"
# Problems of one frame's inputs that `--on-error skip` steps over (bugs still stop).
FRAME_ERRORS = (UserError, ValueError, OSError)


@dataclass
class RunCounts:
    predicted: int = 0
    existing: int = 0
    failed: list[dict] = field(default_factory=list)
    load_seconds: float = 0.0
    model_seconds: float = 0.0
    write_seconds: float = 0.0


def _one_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


def predict_frames(
    estimator,
    jobs: Sequence[FrameJob],
    out: Path | None,
    options: OutputOptions,
    batch_size: int = 1,
    on_error: str = "stop",
    progress: bool = True,
    summary: dict | None = None,
) -> dict:
    """Predict every job not yet complete under `out`; returns (and writes) the summary.

    `out=None` runs without writing anything (for speed measurements)."""
    started = time.perf_counter()
    counts = RunCounts()
    kinds = options.kinds(estimator.arch == "cafnet")
    todo = []
    for job in jobs:
        if out is not None and is_complete(out, job.name, kinds):
            counts.existing += 1
        else:
            todo.append(job)
    if hasattr(jobs, "plan"):  # sources that stream (bags) read only the frames to predict
        jobs.plan(todo)
    with tqdm(
        total=len(jobs),
        initial=counts.existing,
        unit="frame",
        desc="predict",
        disable=not progress,
        dynamic_ncols=True,
    ) as bar:
        for first in range(0, len(todo), max(1, batch_size)):
            batch = todo[first : first + max(1, batch_size)]
            _run_batch(estimator, batch, out, options, on_error, counts)
            bar.update(len(batch))
    seconds = time.perf_counter() - started
    result = {
        **(summary or {}),
        "checkpoint_arch": estimator.arch,
        "backend": estimator.backend_name,
        "device": str(estimator.device),
        "frames": len(jobs),
        "predicted": counts.predicted,
        "already_complete": counts.existing,
        "failed": counts.failed,
        "seconds": seconds,
        "frames_per_second": counts.predicted / seconds if seconds > 0 else None,
        "seconds_by_stage": {
            "load": counts.load_seconds,
            "model": counts.model_seconds,
            "write": counts.write_seconds,
        },
        "outputs": {"kinds": kinds, "png_units": options.png_units},
        "frame_names": {job.name: job.source for job in jobs},
    }
    if out is not None:
        write_json_atomic(Path(out) / SUMMARY_FILE, result)
    return result


def _fail(job: FrameJob, error: BaseException, on_error: str, counts: RunCounts) -> None:
    if on_error != "skip":
        raise error
    counts.failed.append({"name": job.name, "source": job.source, "error": _one_line(error)})
    tqdm.write(f"skipped {job.name}: {_one_line(error)}")


def _run_batch(estimator, batch, out, options, on_error, counts: RunCounts) -> None:
    t0 = time.perf_counter()
    loaded: list[tuple[FrameJob, FrameInput]] = []
    for job in batch:
        try:
            loaded.append((job, job.load()))
        except FRAME_ERRORS as error:
            _fail(job, error, on_error, counts)
    t1 = time.perf_counter()
    counts.load_seconds += t1 - t0
    if not loaded:
        return
    results = estimator.estimate_batch([(f.image, f.radar_points) for _, f in loaded])
    t2 = time.perf_counter()
    counts.model_seconds += t2 - t1
    for (job, _), result in zip(loaded, results, strict=True):
        if out is not None:
            write_frame(
                out,
                job.name,
                result.depth,
                result.uncertainty,
                options,
                estimator.max_depth,
                job.source,
            )
        counts.predicted += 1
    counts.write_seconds += time.perf_counter() - t2
