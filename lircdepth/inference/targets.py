"""The inference speed targets, checked by `lircdepth bench inference` where they can be.

Each target prints one line: met or missed with the measured value, or why it was not
measured here (the engine is unavailable, e.g. bf16 on a CPU without native bf16, or no
CUDA GPU for TensorRT). A missed CPU target names the CPU features it was set for when
this CPU lacks them: int8 and bf16 speed-ups come from VNNI / AMX / AVX512_BF16
instructions, which an AVX2-only CPU does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FULL_SIZE = (896, 1600)
# CPU flags (/proc/cpuinfo) giving a precision its own fast instructions.
FAST_FEATURES = {
    "bf16": ("avx512_bf16", "amx_bf16"),
    "int8": ("avx512_vnni", "avx_vnni", "amx_int8"),
}


@dataclass(frozen=True)
class SpeedTarget:
    """`engine dtype` at `size` reaches `goal` in `unit` ("x default" speed-up or "FPS")."""

    engine: str
    dtype: str
    size: tuple[int, int]
    unit: str
    goal: float


TARGETS = (
    SpeedTarget("openvino", "bf16", FULL_SIZE, "x default", 2.0),
    SpeedTarget("openvino", "int8", FULL_SIZE, "x default", 3.0),
    SpeedTarget("tensorrt", "fp16", FULL_SIZE, "FPS", 150.0),
)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """This CPU's feature flags (empty where /proc/cpuinfo cannot be read)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def lacking_features(dtype: str, flags: set[str]) -> str | None:
    """'no avx512_vnni/avx_vnni/amx_int8' when this CPU has none of the dtype's fast features."""
    wanted = FAST_FEATURES.get(dtype, ())
    if wanted and not flags.intersection(wanted):
        return f"this CPU has no {'/'.join(wanted)}"
    return None


def _measured(row: dict, unit: str) -> float | None:
    if unit == "FPS":
        return 1 / row["total"]
    return row.get("vs_default")


def _not_run(target: SpeedTarget) -> str:
    if target.engine == "tensorrt":
        from lircdepth.inference.tensorrt_backend import tensorrt_unavailable_reason

        reason = tensorrt_unavailable_reason()
        if reason:
            return f"not measured here: {reason}; run bash bench/gpu_checks.sh on a GPU machine"
    return "not run (add it to --engines / --sizes)"


def target_lines(rows: list[dict], flags: set[str] | None = None) -> list[str]:
    """One line per target for the student rows of a benchmark run."""
    flags = cpu_flags() if flags is None else flags
    by_key = {
        (r["engine"], r["dtype"], tuple(r["size"])): r for r in rows if r["network"] == "student"
    }
    lines = ["targets (student):"]
    for target in TARGETS:
        name = (
            f"  {target.engine} {target.dtype} {target.size[0]}x{target.size[1]} "
            f">= {target.goal:g} {target.unit}:"
        )
        row = by_key.get((target.engine, target.dtype, target.size))
        if row is None:
            lines.append(f"{name} {_not_run(target)}")
            continue
        if "total" not in row:
            why = row.get("unavailable") or row.get("error")
            lines.append(f"{name} not measured here: {why}")
            continue
        value = _measured(row, target.unit)
        if value is None:
            lines.append(f"{name} not measured: no torch fp32 row to compare with")
            continue
        verdict = "met" if value >= target.goal else "missed"
        line = f"{name} {verdict} ({value:.2f} {target.unit})"
        lacking = lacking_features(target.dtype, flags) if target.engine == "openvino" else None
        if verdict == "missed" and lacking:
            line += f"; {lacking}, which the target assumes"
        lines.append(line)
    return lines
