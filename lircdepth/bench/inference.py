"""Inference speed of `DepthEstimator`: every engine and precision side by side.

One interleaved run per image size: every configuration (engine, precision, network)
gets its own long-lived worker process, loaded and warmed up first; then the timed
frames go round the workers in turn, so a burst of load from other processes on a
shared machine hits every row alike. Each worker's peak memory is its own (process
peak RSS on CPU since the warm-up, peak allocated CUDA memory on a GPU). Every call goes
through `DepthEstimator.estimate`, so the times are the ones a deployed node sees.

Columns: median latency, FPS, CPU time, model share, peak memory, speed-up over the
project's torch default ("torch fp32") and over the authors' eager definition
("reference fp32", the student as trained), GFLOP/s achieved (network FLOPs / median
latency) and the accuracy cost: per-pixel |depth - torch fp32| on the benchmark frame
(median and p99, metres). Without checkpoints the networks get random weights: speed
does not depend on them, the accuracy cost does (use --student with a trained
checkpoint, and `lircdepth bench precision` for MAE/RMSE on a test split).

    lircdepth bench inference [--sizes 352x704 896x1600]
        [--engines reference:fp32 torch:fp32 openvino:int8 tensorrt:fp16 ...]
        [--calibration PREPARED] [--student CKPT] [--models student teacher]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from lircdepth.argtypes import non_negative_int, positive_int
from lircdepth.atomic import write_json_atomic
from lircdepth.inference.targets import target_lines

MODELS = {"student": "lircdepth", "teacher": "cafnet"}
DEFAULT_SIZES = ("352x704", "896x1600")
CPU_ENGINES = (
    "reference:fp32",
    "torch:fp32",
    "onnxruntime:fp32",
    "openvino:fp32",
    "openvino:bf16",
    "openvino:int8",
)
GPU_ENGINES = ("reference:fp32", "torch:fp32", "torch:fp16", "tensorrt:fp16")
BASELINE = ("torch", "fp32")
REFERENCE = ("reference", "fp32")
RADAR_POINTS_PER_FRAME = 120  # about one RADAR_FRONT sweep
CALIBRATION_SIZE = (352, 704)
CALIBRATION_FRAMES = 4
STAGES = ("preprocess", "model", "postprocess")
TARGET_SPEEDUP = 4.0
TARGET_PRE_POST_SHARE = 0.10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lircdepth bench inference", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["student"])
    parser.add_argument(
        "--engines",
        nargs="+",
        help="ENGINE:DTYPE rows; ENGINE is reference (the authors' eager definition), torch, "
        "compile, onnxruntime, openvino or tensorrt; DTYPE fp32, fp16, bf16 or int8, "
        "tensorrt:fp16+graph for CUDA graphs (default: the device's engines)",
    )
    parser.add_argument(
        "--sizes", nargs="+", default=list(DEFAULT_SIZES), help="network input sizes HxW"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        help="timed frames per configuration (median reported)",
    )
    parser.add_argument("--warmup", type=non_negative_int, default=1, help="untimed frames first")
    parser.add_argument("--threads", type=positive_int, help="CPU threads (default: torch's)")
    parser.add_argument(
        "--calibration",
        type=Path,
        help="prepared dataset for int8 calibration (default: synthetic benchmark frames)",
    )
    parser.add_argument("--student", type=Path, help="student checkpoint (default: random weights)")
    parser.add_argument("--teacher", type=Path, help="teacher checkpoint (default: random weights)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def parse_size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    return int(height), int(width)


def parse_engine(text: str) -> tuple[str, str]:
    engine, _, dtype = text.partition(":")
    return engine, dtype or "fp32"


def default_engines(device: str) -> list[str]:
    import torch

    on_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return list(GPU_ENGINES if on_gpu else CPU_ENGINES)


def synthetic_frame(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random RGB image and projected radar points spread over the lower image half."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    n = RADAR_POINTS_PER_FRAME
    points = np.column_stack(
        [
            rng.uniform(2, width - 2, n),
            rng.uniform(height / 2, height - 2, n),
            rng.uniform(2, 80, n),
            rng.normal(0, 5, n),
            rng.normal(0, 2, (n, 2)),
        ]
    )
    return image, points


def reset_peak_rss() -> None:
    """Restart the kernel's peak-RSS counter, so loading and compile transients do not count."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last reset (VmHWM), in MiB.

    Not ru_maxrss: Linux carries that over from the parent across fork + exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_estimator(spec: dict):
    """The configuration's estimator; int8 is calibrated on the given data or synthetic frames."""
    from lircdepth.inference import DepthEstimator

    engine, (dtype, _, flag) = spec["engine"], spec["dtype"].partition("+")
    calibration = spec["calibration"] or [
        synthetic_frame(*CALIBRATION_SIZE, seed=100 + i) for i in range(CALIBRATION_FRAMES)
    ]
    return DepthEstimator.from_checkpoint(
        spec["checkpoint"],
        device=spec["device"],
        backend="torch" if engine == "reference" else engine,
        dtype=dtype,
        fast=engine != "reference",
        threads=spec["threads"],
        **cast("dict[str, Any]", {"calibration": calibration} if dtype == "int8" else {}),
        **cast("dict[str, Any]", {"cuda_graph": True} if flag == "graph" else {}),
    )


def worker_loop(spec: dict) -> None:
    """Worker side: load, warm up, say "ready"; then time one frame per "run" line on stdin;
    on "finish" save the depth and report peak memory."""
    import torch

    from lircdepth.inference import BackendUnavailableError

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    try:
        estimator = load_estimator(spec)
    except BackendUnavailableError as error:
        _say({"unavailable": str(error)})
        return
    on_cuda = estimator.device.type == "cuda"
    image, points = synthetic_frame(*spec["size"])
    for _ in range(max(1, spec["warmup"])):
        result = estimator.estimate(image, points)
    if on_cuda:
        torch.cuda.reset_peak_memory_stats(estimator.device)
    else:
        reset_peak_rss()
    _say({"ready": estimator.backend_name})
    for line in sys.stdin:
        if line.strip() != "run":
            break
        started, cpu_started = time.perf_counter(), time.process_time()
        result = estimator.estimate(image, points)
        cpu = time.process_time() - cpu_started
        _say({"total": time.perf_counter() - started, "cpu": cpu, **result.timings})
    np.save(spec["depth_out"], result.depth)
    if on_cuda:
        peak_mb = torch.cuda.max_memory_allocated(estimator.device) / 2**20
    else:
        peak_mb = peak_rss_mb()
    _say({"peak_mb": peak_mb})


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


class Worker:
    """Coordinator side of one configuration's worker process."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.runs: list[dict] = []
        self.error: str | None = None
        self.unavailable: str | None = None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lircdepth.bench.inference", "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = self._read() or {}
        self.engine = ready.get("ready")
        if "unavailable" in ready:
            self.unavailable = self.error = ready["unavailable"]

    def _read(self) -> dict | None:
        assert self.process.stdout is not None and self.process.stderr is not None  # PIPEs
        for line in self.process.stdout:
            start = line.find('{"')  # progress bars may share the line
            if start >= 0:
                return json.loads(line[start:])
        self.process.wait()
        lines = self.process.stderr.read().strip().splitlines()
        self.error = (lines or ["worker exited without output"])[-1]
        return None

    def run_once(self) -> None:
        if self.error is None:
            assert self.process.stdin is not None  # a PIPE
            self.process.stdin.write("run\n")
            self.process.stdin.flush()
            run = self._read()
            if run:
                self.runs.append(run)

    def finish(self) -> dict:
        spec = self.spec
        row = {k: spec[k] for k in ("network", "engine", "dtype", "size")}
        peak: dict | None = None
        if self.error is None:
            assert self.process.stdin is not None  # a PIPE
            self.process.stdin.write("finish\n")
            self.process.stdin.flush()
            peak = self._read()
        self.process.wait()
        if self.unavailable is not None:
            return {**row, "unavailable": self.unavailable}
        if self.error is not None:
            return {**row, "error": self.error}
        medians = {
            key: statistics.median(run[key] for run in self.runs)
            for key in ("total", "cpu", *STAGES)
        }
        return {**row, "label": self.engine, **medians, **(peak or {})}  # read: no error


def interleaved(specs: list[dict]) -> list[dict]:
    """Load every configuration, then time them in turns (order rotated every round)."""
    workers = [Worker(spec) for spec in specs]
    for round_index in range(specs[0]["repeats"] if specs else 0):
        shift = round_index % len(workers)
        for worker in workers[shift:] + workers[:shift]:
            worker.run_once()
    return [worker.finish() for worker in workers]


def add_comparisons(rows: list[dict], gflops: dict) -> None:
    """Speed-ups over the torch default and the reference, GFLOP/s and |depth - torch fp32|."""
    by_key = {(r["network"], r["engine"], r["dtype"], tuple(r["size"])): r for r in rows}
    for row in rows:
        if "total" not in row:
            continue
        network, size = row["network"], tuple(row["size"])
        for name, (engine, dtype) in (("vs_default", BASELINE), ("vs_reference", REFERENCE)):
            other = by_key.get((network, engine, dtype, size))
            row[name] = other["total"] / row["total"] if other and "total" in other else None
        row["gflops_per_s"] = gflops[(network, size)] / row["total"]
        baseline = by_key.get((network, *BASELINE, size))
        if baseline and "total" in baseline:
            error = np.abs(np.load(row["depth_file"]) - np.load(baseline["depth_file"]))
            row["diff_median_m"] = float(np.median(error))
            row["diff_p99_m"] = float(np.percentile(error, 99))
            row["diff_max_m"] = float(error.max())


def _cell(value: float | None, fmt: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}{fmt}}"


def format_tables(rows: list[dict]) -> str:
    """The side-by-side table, then the student-vs-teacher speed-up where both were run.

    "cpu ms" is the process CPU time per frame (all threads): on a shared machine it moves
    far less with other load than wall time does.
    """
    header = (
        f"{'network':8} {'engine':12} {'dtype':5} {'size':>9} {'median ms':>10} {'FPS':>7} "
        f"{'cpu ms':>8} {'pre+post':>8} {'peak MB':>8} {'x default':>9} {'x ref':>7} "
        f"{'GFLOP/s':>8} {'|d| med m':>9} {'|d| p99 m':>9}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        label = (
            f"{row['network']:8} {row['engine']:12} {row['dtype']:5} "
            f"{row['size'][0]:>4}x{row['size'][1]:<4}"
        )
        if "error" in row or "unavailable" in row:
            problem = "failed" if "error" in row else "unavailable"
            lines.append(f"{label} {problem}: {row.get('error') or row['unavailable']}")
            continue
        share = (row["preprocess"] + row["postprocess"]) / row["model"]
        lines.append(
            f"{label} {row['total'] * 1e3:10.1f} {1 / row['total']:7.2f} {row['cpu'] * 1e3:8.1f} "
            f"{share:8.1%} {row['peak_mb']:8.0f} {_cell(row.get('vs_default'), '.2f', 8)}x "
            f"{_cell(row.get('vs_reference'), '.2f', 6)}x {_cell(row.get('gflops_per_s'), '.0f', 8)} "
            f"{_cell(row.get('diff_median_m'), '.4f', 9)} {_cell(row.get('diff_p99_m'), '.4f', 9)}"
        )
    lines.append(
        "x default / x ref: speed-up over torch fp32 (the project's inference form) and over "
        "the authors' eager definition; |d|: per-pixel |depth - torch fp32| on the frame"
    )
    lines.append(f"(pre+post = share of model time; target <= {TARGET_PRE_POST_SHARE:.0%})")
    lines += _teacher_table(rows)
    lines += ["", *target_lines(rows)]
    return "\n".join(lines)


def _teacher_table(rows: list[dict]) -> list[str]:
    timed = {
        (r["network"], r["engine"], r["dtype"], tuple(r["size"])): r for r in rows if "total" in r
    }
    lines = []
    for (network, engine, dtype, size), student in timed.items():
        teacher = timed.get(("teacher", engine, dtype, size))
        if network == "student" and teacher:
            wall, cpu = teacher["total"] / student["total"], teacher["cpu"] / student["cpu"]
            lines.append(
                f"  {engine:12} {dtype:5} {size[0]:>4}x{size[1]:<4} {wall:6.2f}x {cpu:6.2f}x"
            )
    if lines:
        title = f"student speed-up over teacher (target >= {TARGET_SPEEDUP:g}x at 896x1600):"
        lines = ["", f"{title}  wall   cpu", *lines]
    return lines


def random_checkpoints(models: list[str], folder: Path) -> dict[str, Path]:
    """Random-weight checkpoints in the project format, so workers load them like real ones."""
    import torch

    from lircdepth.models import build_model
    from lircdepth.models.checkpoint import save_checkpoint

    paths = {}
    for name in models:
        torch.manual_seed(0)
        model = build_model(MODELS[name])
        paths[name] = folder / f"{name}.pt"
        save_checkpoint(
            paths[name], {"arch": MODELS[name], "model_config": {}, "model": model.state_dict()}
        )
    return paths


def configurations(
    args: argparse.Namespace, size: tuple[int, int], checkpoints: dict, folder: Path
) -> list[dict]:
    engines = [parse_engine(text) for text in args.engines or default_engines(args.device)]
    return [
        {
            "network": network,
            "engine": engine,
            "dtype": dtype,
            "size": size,
            "device": args.device,
            "checkpoint": str(checkpoints[network]),
            "calibration": str(args.calibration) if args.calibration else None,
            "threads": args.threads,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "depth_out": str(folder / f"{network}-{engine}-{dtype}-{size[0]}x{size[1]}.npy"),
        }
        for engine, dtype in engines
        for network in args.models
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        worker_loop(json.loads(args.worker))
        return 0
    from lircdepth.bench.models import count_gflops

    rows = []
    with tempfile.TemporaryDirectory(prefix="lircdepth-bench-") as folder:
        given = {name: getattr(args, name) for name in args.models if getattr(args, name)}
        missing = [name for name in args.models if name not in given]
        checkpoints = {**given, **random_checkpoints(missing, Path(folder))}
        gflops = {}
        for size in map(parse_size, args.sizes):
            specs = configurations(args, size, checkpoints, Path(folder))
            for network in args.models:
                gflops[(network, size)] = count_gflops(MODELS[network], *size)
            measured = interleaved(specs)
            for row, spec in zip(measured, specs, strict=True):
                row["depth_file"] = spec["depth_out"]
            add_comparisons(measured, gflops)
            rows += measured
            print(f"  measured {size[0]}x{size[1]}", file=sys.stderr, flush=True)
    print(format_tables(rows))
    if args.json:
        write_json_atomic(args.json, rows)
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
