"""Inference speed of `DepthEstimator`: student vs teacher, per backend and resolution.

Each configuration runs in its own process, so its peak memory is its own (process
peak RSS on CPU, peak allocated CUDA memory on a GPU) and one backend's threads or
caches cannot slow another. Every call goes through `DepthEstimator.estimate`, so the
split into pre-processing, model and post-processing is the one a deployed node sees.
Without checkpoints the networks get random weights (speed does not depend on them).

    lircdepth bench inference [--sizes 352x704 896x1600] [--backends torch onnxruntime]
        [--device cuda --dtype fp32 fp16 --providers TensorrtExecutionProvider ...]
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

import numpy as np

MODELS = {"student": "lircdepth", "teacher": "cafnet"}
DEFAULT_SIZES = ("352x704", "896x1600")
RADAR_POINTS_PER_FRAME = 120  # about one RADAR_FRONT sweep
STAGES = ("preprocess", "model", "postprocess")
TARGET_SPEEDUP = 4.0
TARGET_PRE_POST_SHARE = 0.10


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lircdepth bench inference", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--models", nargs="+", choices=sorted(MODELS), default=["student", "teacher"]
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=("torch", "compile", "onnxruntime"),
        default=["torch", "onnxruntime"],
    )
    parser.add_argument(
        "--sizes", nargs="+", default=list(DEFAULT_SIZES), help="network input sizes HxW"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (torch backends)")
    parser.add_argument("--dtype", nargs="+", choices=("fp32", "fp16", "bf16"), default=["fp32"])
    parser.add_argument(
        "--providers", nargs="+", help="ONNX Runtime execution providers (default: fastest present)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per configuration (median reported)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument(
        "--threads", type=int, help="torch / ONNX Runtime CPU threads (default: torch's)"
    )
    parser.add_argument("--student", type=Path, help="student checkpoint (default: random weights)")
    parser.add_argument("--teacher", type=Path, help="teacher checkpoint (default: random weights)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def parse_size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    return int(height), int(width)


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
    """Restart the kernel's peak-RSS counter, so loading and export transients do not count."""
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


def measure(spec: dict) -> dict:
    """Worker side: load one configuration, time `estimate`, report medians and peak memory."""
    import torch

    from lircdepth.inference import DepthEstimator

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    if spec["backend"] == "onnxruntime":
        estimator = DepthEstimator.from_onnx(
            spec["onnx"], providers=spec["providers"], fp16=spec["dtype"] == "fp16"
        )
        engine = (
            "onnxruntime["
            + ",".join(
                p.removesuffix("ExecutionProvider") for p in estimator.backend_impl.providers
            )
            + "]"
        )
    else:
        estimator = DepthEstimator.from_checkpoint(
            spec["checkpoint"], spec["device"], spec["backend"], spec["dtype"]
        )
        engine = f"{spec['backend']}[{estimator.device.type}]"
    on_cuda = estimator.device.type == "cuda"
    image, points = synthetic_frame(*spec["size"])
    for _ in range(spec["warmup"]):
        estimator.estimate(image, points)
    if on_cuda:
        torch.cuda.reset_peak_memory_stats(estimator.device)
    else:
        reset_peak_rss()
    runs = []
    for _ in range(spec["repeats"]):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = estimator.estimate(image, points)
        cpu = time.process_time() - cpu_started
        runs.append({"total": time.perf_counter() - started, "cpu": cpu, **result.timings})
    if on_cuda:
        peak_mb = torch.cuda.max_memory_allocated(estimator.device) / 2**20
    else:
        peak_mb = peak_rss_mb()
    medians = {
        key: statistics.median(run[key] for run in runs) for key in ("total", "cpu", *STAGES)
    }
    return {
        **{k: spec[k] for k in ("network", "dtype", "size")},
        "engine": engine,
        "peak_mb": peak_mb,
        **medians,
    }


def run_worker(spec: dict) -> dict:
    """One configuration in a fresh interpreter; its last stdout line is the JSON result."""
    completed = subprocess.run(
        [sys.executable, "-m", "lircdepth.inference.benchmark", "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return {
            **{k: spec[k] for k in ("network", "dtype", "size")},
            "engine": spec["backend"],
            "error": reason,
        }
    return json.loads(completed.stdout.strip().splitlines()[-1])


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


def export_models(checkpoints: dict[str, Path], folder: Path) -> dict[str, Path]:
    """Dynamic-size ONNX models (checked against PyTorch) for the ONNX Runtime rows."""
    from lircdepth.inference.export import export_onnx
    from lircdepth.inference.network import load_network

    paths = {}
    for name, checkpoint in checkpoints.items():
        paths[name] = folder / f"{name}.onnx"
        export_onnx(load_network(checkpoint), paths[name])
    return paths


def format_tables(rows: list[dict]) -> str:
    """The measurement table, then the student-vs-teacher speed-up per engine and size.

    Besides wall time, "cpu ms" is the process CPU time per frame (all threads): on a
    shared machine it moves far less with other load than wall time does.
    """
    header = (
        f"{'network':8} {'engine':30} {'dtype':5} {'size':>9} {'median ms':>10} {'FPS':>7} "
        f"{'cpu ms':>9} {'pre ms':>8} {'model ms':>9} {'post ms':>8} {'pre+post':>8} {'peak MB':>8}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        label = f"{row['network']:8} {row['engine']:30} {row['dtype']:5} {row['size'][0]:>4}x{row['size'][1]:<4}"
        if "error" in row:
            lines.append(f"{label} failed: {row['error']}")
            continue
        share = (row["preprocess"] + row["postprocess"]) / row["model"]
        lines.append(
            f"{label} {row['total'] * 1e3:10.1f} {1 / row['total']:7.2f} {row['cpu'] * 1e3:9.1f} "
            f"{row['preprocess'] * 1e3:8.1f} {row['model'] * 1e3:9.1f} {row['postprocess'] * 1e3:8.1f} "
            f"{share:8.1%} {row['peak_mb']:8.0f}"
        )
    lines += [
        "",
        f"student speed-up over teacher (target >= {TARGET_SPEEDUP:g}x at 896x1600):  wall   cpu",
    ]
    timed = {
        (r["network"], r["engine"], r["dtype"], tuple(r["size"])): r
        for r in rows
        if "error" not in r
    }
    for (network, engine, dtype, size), student in timed.items():
        teacher = timed.get(("teacher", engine, dtype, size))
        if network == "student" and teacher:
            wall, cpu = teacher["total"] / student["total"], teacher["cpu"] / student["cpu"]
            lines.append(
                f"  {engine:30} {dtype:5} {size[0]:>4}x{size[1]:<4} {wall:6.2f}x {cpu:6.2f}x"
            )
    lines.append(f"(pre+post = share of model time; target <= {TARGET_PRE_POST_SHARE:.0%})")
    return "\n".join(lines)


def configurations(args: argparse.Namespace, checkpoints: dict, onnx_models: dict) -> list[dict]:
    specs = []
    for size in map(parse_size, args.sizes):
        for backend in args.backends:
            for dtype in args.dtype:
                if (
                    backend == "onnxruntime"
                    and dtype != "fp32"
                    and "TensorrtExecutionProvider" not in (args.providers or [])
                ):
                    continue  # reduced precision in ONNX Runtime comes from TensorRT only
                for network in args.models:
                    specs.append(
                        {
                            "network": network,
                            "backend": backend,
                            "dtype": dtype,
                            "size": size,
                            "device": args.device,
                            "checkpoint": str(checkpoints[network]),
                            "onnx": str(onnx_models.get(network, "")),
                            "providers": args.providers,
                            "threads": args.threads,
                            "warmup": args.warmup,
                            "repeats": args.repeats,
                        }
                    )
    return specs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        print(json.dumps(measure(json.loads(args.worker))))
        return 0
    with tempfile.TemporaryDirectory(prefix="lircdepth-bench-") as folder:
        given = {name: getattr(args, name) for name in args.models if getattr(args, name)}
        missing = [name for name in args.models if name not in given]
        checkpoints = {**given, **random_checkpoints(missing, Path(folder))}
        onnx_models = (
            export_models(checkpoints, Path(folder)) if "onnxruntime" in args.backends else {}
        )
        rows = []
        for spec in configurations(args, checkpoints, onnx_models):
            rows.append(run_worker(spec))
            print(
                f"  measured {spec['network']} {spec['backend']} {spec['dtype']} {spec['size']}",
                file=sys.stderr,
                flush=True,
            )
    print(format_tables(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all("error" not in row for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
