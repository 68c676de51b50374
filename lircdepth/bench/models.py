"""Benchmark of both networks: parameters, GFLOPs, CPU latency, peak memory, and the
fast student against the straightforward one, all measured in the same run.

Each network runs in its own long-lived worker process (so peak memory, VmHWM from
/proc/self/status, belongs to that one network and size, and process-wide settings such
as the fast student's allocator tuning stay in its process). The workers take turns,
one forward each, A B C A B C ..., so load from other processes on a shared machine hits
every variant alike; each reports the median of its timed runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, cast

import torch
from torch.utils.flop_counter import FlopCounterMode

from lircdepth.argtypes import positive_int
from lircdepth.models.registry import build_model

# The unused ImageNet classifier heads of the reference backbones (method.md section 6).
UNUSED_HEAD_PARAMETERS = {"lircdepth": 2 * 1_281_000, "cafnet": 3 * 513_000}
# lircdepth: the straightforward eager student (baseline); -fast: optimize_for_inference;
# -fast-plain-malloc: the same without its allocator tuning, to show what each part gives.
VARIANTS = ("lircdepth", "lircdepth-fast", "lircdepth-fast-plain-malloc", "cafnet")
# Idle time between turns: the previous worker's OpenMP threads spin-wait a while after
# its forward and would otherwise steal the cores from the next one (measured at 64x96).
PAUSE_BETWEEN_TURNS_S = 0.5


def _memory_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _build(variant: str) -> Callable[..., Any]:
    """The network (or its `predict`) of `variant`, ready to call on (image, radar)."""
    if variant.startswith("lircdepth-fast"):
        from lircdepth.models.fast_student import optimize_for_inference
        from lircdepth.models.student import LiRCDepth

        retain_memory = not variant.endswith("plain-malloc")
        student = cast(LiRCDepth, build_model("lircdepth").eval())
        return optimize_for_inference(student, retain_memory)
    model = build_model(variant).eval()
    return getattr(model, "predict", model)


def _reply(message: dict) -> None:
    print(json.dumps(message), flush=True)


def serve_forwards(variant: str, height: int, width: int, threads: int) -> None:
    """Worker loop: build, answer each 'run' line with one forward's seconds, 'stop' with peak MiB."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = _build(variant)
    image, radar = torch.randn(1, 3, height, width), torch.randn(1, 4, height, width)
    baseline = _memory_kib("VmRSS")
    _reply({"ready": True})
    with torch.inference_mode():
        for command in sys.stdin:
            if command.strip() != "run":
                break
            start = time.perf_counter()
            model(image, radar)
            _reply({"seconds": time.perf_counter() - start})
    _reply({"peak_mib": (_memory_kib("VmHWM") - baseline) / 1024})


class _Worker:
    """One variant's worker process; a dead worker turns into an error entry, not a crash."""

    def __init__(self, variant: str, height: int, width: int, threads: int):
        self.variant = variant
        self.times: list[float] = []
        self.error: str | None = None
        command = [sys.executable, "-m", __name__, "--worker", variant, str(height), str(width)]
        command.append(str(threads))
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._ask(None)

    def _ask(self, command: str | None) -> dict:
        if self.error is not None:
            return {}
        assert self.process.stdin is not None and self.process.stdout is not None  # PIPEs
        try:
            if command is not None:
                self.process.stdin.write(command + "\n")
                self.process.stdin.flush()
            line = self.process.stdout.readline()
            return json.loads(line)
        except (OSError, ValueError):
            self.error = f"worker exited with {self.process.poll()}"
            return {}

    def run_once(self) -> float | None:
        return self._ask("run").get("seconds")

    def finish(self, warmups: int) -> dict:
        peak = self._ask("stop").get("peak_mib")
        self.process.wait()
        if self.error is not None or len(self.times) <= warmups:
            return {"error": self.error or "no timed run"}
        timed = self.times[warmups:]
        return {"seconds": statistics.median(timed), "runs": timed, "peak_mib": peak}


def measure_interleaved(
    variants: list[str], height: int, width: int, runs: int, threads: int, warmups: int = 1
) -> dict[str, dict]:
    """Median seconds and peak MiB per variant, the variants taking turns forward by forward."""
    workers = [_Worker(variant, height, width, threads) for variant in variants]
    for _ in range(warmups + runs):
        for worker in workers:
            seconds = worker.run_once()
            if seconds is not None:
                worker.times.append(seconds)
            time.sleep(PAUSE_BETWEEN_TURNS_S)
    return {worker.variant: worker.finish(warmups) for worker in workers}


def count_gflops(arch: str, height: int, width: int) -> float:
    """GFLOPs of one forward (torch.utils.flop_counter: 2 FLOPs per multiply-add)."""
    model = build_model(arch).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, height, width), torch.zeros(1, 4, height, width))
    return counter.get_total_flops() / 1e9


def _teacher_available() -> bool:
    try:
        build_model("cafnet")
    except Exception as error:  # noqa: BLE001 - any failure means: skip the teacher row
        print(f"teacher row skipped: cannot build CaFNet ({error})")
        return False
    return True


def _fmt_seconds(result: dict) -> str:
    return f"{result['seconds']:.3f}" if "seconds" in result else "error"


def _parse_size(text: str) -> tuple[int, int]:
    height, width = (int(value) for value in text.split("x"))
    return height, width


def _network_rows(archs: list[str], flops_size: str) -> dict[str, tuple[int, int, float]]:
    rows = {}
    for arch in archs:
        params = sum(p.numel() for p in build_model(arch).parameters())
        flops = count_gflops(arch, *_parse_size(flops_size)) if flops_size else float("nan")
        rows[arch] = (params, params + UNUSED_HEAD_PARAMETERS[arch], flops)
    return rows


def _seconds(result: dict) -> float:
    return result.get("seconds", float("nan"))


def _print_networks(rows: dict, latency: dict, sizes: list[str], args: argparse.Namespace) -> None:
    print(
        f"\nNetworks (CPU, {args.threads} threads, batch 1, median of {args.runs} interleaved runs;"
        f" FLOPs at {args.flops_size}; the student row is the straightforward eager model)"
    )
    header = " | ".join(f"s @ {size} | peak MiB @ {size}" for size in sizes)
    print(f"| network | params | params + unused heads | GFLOPs | {header} |")
    print("|---" * (4 + 2 * len(sizes)) + "|")
    for arch, (params, with_heads, flops) in rows.items():
        cells = " | ".join(
            f"{_fmt_seconds(latency[size][arch])} | {latency[size][arch].get('peak_mib', float('nan')):.0f}"
            for size in sizes
        )
        print(f"| {arch} | {params:,} | {with_heads:,} | {flops:.1f} | {cells} |")
    if "cafnet" not in rows:
        return
    (student_params, _, student_flops), (teacher_params, _, teacher_flops) = (
        rows["lircdepth"],
        rows["cafnet"],
    )
    ratio = student_params / teacher_params
    print(
        f"\nstudent/teacher: params {ratio:.3f} ({1 - ratio:.0%} fewer),"
        f" FLOPs {student_flops / teacher_flops:.3f}"
    )
    for size in sizes:
        for student in ("lircdepth", "lircdepth-fast"):
            speedup = _seconds(latency[size]["cafnet"]) / _seconds(latency[size][student])
            print(f"  {student} speed-up over teacher @ {size}: {speedup:.2f}x")


def _print_fast_against_eager(latency: dict, sizes: list[str]) -> None:
    print("\nFast student (same weights, same depth) against the straightforward eager student")
    print(
        "| size | eager s | fast s | speed-up | fast, plain malloc s | speed-up | peak MiB eager / fast |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        eager, fast, plain = (
            latency[size][v] for v in ("lircdepth", "lircdepth-fast", "lircdepth-fast-plain-malloc")
        )
        print(
            f"| {size} | {_fmt_seconds(eager)} | {_fmt_seconds(fast)} | "
            f"{_seconds(eager) / _seconds(fast):.2f}x | {_fmt_seconds(plain)} | "
            f"{_seconds(eager) / _seconds(plain):.2f}x | "
            f"{eager.get('peak_mib', float('nan')):.0f} / {fast.get('peak_mib', float('nan')):.0f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["352x704", "896x1600"], help="HxW input sizes"
    )
    parser.add_argument(
        "--runs", type=positive_int, default=3, help="timed runs per measurement (median)"
    )
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--flops-size", default="896x1600", help="HxW for the FLOP count ('' to skip)"
    )
    parser.add_argument("--no-teacher", action="store_true", help="time the students only")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        variant, height, width, threads = args.worker
        serve_forwards(variant, int(height), int(width), int(threads))
        return 0

    sizes = [_parse_size(size) for size in args.sizes]
    size_names = [f"{h}x{w}" for h, w in sizes]
    archs = ["lircdepth"] + ([] if args.no_teacher or not _teacher_available() else ["cafnet"])
    variants = [v for v in VARIANTS if v.split("-")[0] in archs]
    latency = {
        name: measure_interleaved(variants, *size, args.runs, args.threads)
        for name, size in zip(size_names, sizes, strict=True)
    }
    _print_networks(_network_rows(archs, args.flops_size), latency, size_names, args)
    _print_fast_against_eager(latency, size_names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
