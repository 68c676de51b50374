"""Benchmark of both networks: parameters, GFLOPs, CPU latency, peak memory, and the
fast student against the straightforward one, all measured in the same run.

Each latency/memory measurement runs in its own subprocess so peak memory (VmHWM from
/proc/self/status) belongs to that one network and size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from .registry import build_model

# The unused ImageNet classifier heads of the reference backbones (method.md section 6).
UNUSED_HEAD_PARAMETERS = {"lircdepth": 2 * 1_281_000, "cafnet": 3 * 513_000}
VARIANTS = ("lircdepth", "lircdepth-fast", "cafnet")


def _memory_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _build(variant: str) -> torch.nn.Module:
    if variant == "lircdepth-fast":
        from .fast_student import optimize_for_inference

        return optimize_for_inference(build_model("lircdepth").eval())
    model = build_model(variant).eval()
    return model.predict if hasattr(model, "predict") else model


def measure_latency(variant: str, height: int, width: int, runs: int, threads: int) -> dict:
    """Median seconds of `runs` forwards (after one warm-up) and peak RSS growth in MiB."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = _build(variant)
    image, radar = torch.randn(1, 3, height, width), torch.randn(1, 4, height, width)
    baseline = _memory_kib("VmRSS")
    times = []
    with torch.inference_mode():
        model(image, radar)
        for _ in range(runs):
            start = time.perf_counter()
            model(image, radar)
            times.append(time.perf_counter() - start)
    return {
        "seconds": statistics.median(times),
        "peak_mib": (_memory_kib("VmHWM") - baseline) / 1024,
    }


def _measure_in_subprocess(variant: str, height: int, width: int, runs: int, threads: int) -> dict:
    command = [
        sys.executable,
        "-m",
        __name__,
        "--worker",
        variant,
        str(height),
        str(width),
        str(runs),
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else f"exit {done.returncode}"
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["352x704", "896x1600"], help="HxW input sizes"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (median)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--flops-size", default="896x1600", help="HxW for the FLOP count ('' to skip)"
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        variant, height, width, runs, threads = args.worker
        print(
            json.dumps(measure_latency(variant, int(height), int(width), int(runs), int(threads)))
        )
        return 0

    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes]
    archs = ["lircdepth"] + (["cafnet"] if _teacher_available() else [])
    variants = [v for v in VARIANTS if v.split("-")[0] in archs]
    latency = {
        (v, s): _measure_in_subprocess(v, *s, args.runs, args.threads)
        for v in variants
        for s in sizes
    }
    rows = {}
    for arch in archs:
        params = sum(p.numel() for p in build_model(arch).parameters())
        flops = (
            count_gflops(arch, *map(int, args.flops_size.split("x")))
            if args.flops_size
            else float("nan")
        )
        rows[arch] = (params, params + UNUSED_HEAD_PARAMETERS[arch], flops)

    size_names = [f"{h}x{w}" for h, w in sizes]
    print(
        f"\nNetworks (CPU, {args.threads} threads, batch 1, median of {args.runs}; FLOPs at {args.flops_size})"
    )
    print(
        "| network | params | params + unused heads | GFLOPs | "
        + " | ".join(f"s @ {n} | peak MiB @ {n}" for n in size_names)
        + " |"
    )
    print("|---" * (4 + 2 * len(sizes)) + "|")
    for arch, (params, with_heads, flops) in rows.items():
        cells = [
            f"{_fmt_seconds(latency[arch, s])} | {latency[arch, s].get('peak_mib', float('nan')):.0f}"
            for s in sizes
        ]
        print(f"| {arch} | {params:,} | {with_heads:,} | {flops:.1f} | " + " | ".join(cells) + " |")
    if "cafnet" in rows:
        (sp, _, sf), (tp, _, tf) = rows["lircdepth"], rows["cafnet"]
        print(
            f"\nstudent/teacher: params {sp / tp:.3f} ({1 - sp / tp:.0%} fewer), FLOPs {sf / tf:.3f}"
        )
        for s, name in zip(sizes, size_names, strict=True):
            for student in ("lircdepth", "lircdepth-fast"):
                ratio = latency["cafnet", s].get("seconds", float("nan")) / latency[student, s].get(
                    "seconds", float("nan")
                )
                print(f"  {student} speed-up over teacher @ {name}: {ratio:.2f}x")

    print("\nFast student (same weights, same depth) against the straightforward eager student")
    print("| size | eager s | fast s | speed-up |")
    print("|---|---|---|---|")
    for s, name in zip(sizes, size_names, strict=True):
        eager, fast = (
            latency["lircdepth", s].get("seconds"),
            latency["lircdepth-fast", s].get("seconds"),
        )
        speedup = f"{eager / fast:.2f}x" if eager and fast else "error"
        print(
            f"| {name} | {_fmt_seconds(latency['lircdepth', s])} | {_fmt_seconds(latency['lircdepth-fast', s])} | {speedup} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
