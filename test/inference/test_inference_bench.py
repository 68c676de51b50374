"""The inference benchmark (interleaved workers, comparisons, table) and `lircdepth bench`."""

from __future__ import annotations

import json

import numpy as np

from lircdepth.bench.inference import add_comparisons, format_tables
from lircdepth.bench_cli import BENCHMARKS, find_benchmark
from lircdepth.cli import main as lircdepth_main

SIZE = (896, 1600)


def row(engine: str, dtype: str, total: float, depth_file, network: str = "student") -> dict:
    return {
        "network": network,
        "engine": engine,
        "dtype": dtype,
        "size": list(SIZE),
        "peak_mb": 900.0,
        "total": total,
        "cpu": 2 * total,
        "preprocess": 0.01,
        "model": total - 0.02,
        "postprocess": 0.01,
        "depth_file": str(depth_file),
    }


def test_table_has_speedups_gflops_and_accuracy_cost(tmp_path):
    depth = np.full((8, 8), 20.0, dtype=np.float32)
    np.save(tmp_path / "torch.npy", depth)
    np.save(tmp_path / "int8.npy", depth + 0.5)
    rows = [
        row("reference", "fp32", 4.0, tmp_path / "torch.npy"),
        row("torch", "fp32", 1.0, tmp_path / "torch.npy"),
        row("openvino", "int8", 0.25, tmp_path / "int8.npy"),
        {"network": "student", "engine": "openvino", "dtype": "bf16", "size": list(SIZE)}
        | {"unavailable": "openvino bf16 needs a CPU with native bfloat16"},
        row("torch", "fp32", 5.0, tmp_path / "torch.npy", network="teacher"),
    ]
    add_comparisons(rows, {("student", SIZE): 200.0, ("teacher", SIZE): 1000.0})
    int8 = rows[2]
    assert int8["vs_default"] == 4.0 and int8["vs_reference"] == 16.0
    assert int8["gflops_per_s"] == 800.0 and int8["diff_p99_m"] == 0.5
    table = format_tables(rows)
    assert "4.00x" in table and "16.00x" in table and "800" in table and "0.5000" in table
    assert "unavailable: openvino bf16 needs" in table
    assert "5.00x" in table  # student over teacher, torch fp32


def test_bench_inference_runs_engines_side_by_side(tmp_path, capsys):
    out = tmp_path / "rows.json"
    args = ["bench", "inference", "--engines", "torch:fp32", "openvino:fp32", "openvino:bf16"]
    args += ["--sizes", "64x96", "--repeats", "2", "--warmup", "0", "--threads", "1"]
    assert lircdepth_main([*args, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "student  torch" in printed and "64x96" in printed
    rows = {(r["engine"], r["dtype"]): r for r in json.loads(out.read_text())}
    assert len(rows) == 3
    openvino = rows[("openvino", "fp32")]
    assert openvino["vs_default"] > 0 and openvino["gflops_per_s"] > 0
    assert openvino["diff_max_m"] <= 1e-3  # fp32 engines agree
    bf16 = rows[("openvino", "bf16")]
    assert "total" in bf16 or "AVX512_BF16" in bf16["unavailable"]


def test_every_benchmark_is_found():
    assert all(find_benchmark(name) is not None for name in BENCHMARKS)


def test_arguments_reach_a_benchmark(capsys):
    assert lircdepth_main(["bench", "prepare", "--help"]) == 0
    assert "--accumulate-sweeps" in capsys.readouterr().out


def test_the_ros_benchmark_is_registered_by_its_package():
    assert "node" in BENCHMARKS


def test_targets_say_why_they_are_not_measured_or_missed(tmp_path):
    from lircdepth.inference.targets import target_lines

    np.save(tmp_path / "d.npy", np.zeros((2, 2), dtype=np.float32))
    rows = [
        row("torch", "fp32", 6.0, tmp_path / "d.npy"),
        row("openvino", "int8", 3.0, tmp_path / "d.npy"),
        {"network": "student", "engine": "openvino", "dtype": "bf16", "size": list(SIZE)}
        | {"unavailable": "openvino bf16 needs a CPU with native bfloat16"},
    ]
    add_comparisons(rows, {("student", SIZE): 200.0})
    lines = "\n".join(target_lines(rows, flags={"avx2", "fma"}))
    assert "bf16 896x1600 >= 2 x default: not measured here: openvino bf16 needs" in lines
    assert (
        "int8 896x1600 >= 3 x default: missed (2.00 x default); this CPU has no avx512_vnni"
        in lines
    )
    assert "tensorrt fp16 896x1600 >= 150 FPS: not" in lines
    with_vnni = "\n".join(target_lines(rows, flags={"avx512_vnni"}))
    assert "missed (2.00 x default)\n" in with_vnni + "\n"  # no excuse on a CPU with VNNI


def test_precision_table_checks_the_int8_mae_budget():
    from lircdepth.bench.precision import format_table

    def scored(dtype: str, change: float) -> dict:
        return {"engine": "openvino", "dtype": dtype, "mae": 4.0, "rmse": 6.0} | {
            "mae_change": change,
            "diff_median_m": 0.9,
            "diff_p99_m": 7.7,
            "diff_max_m": 18.0,
        }

    assert "within 2% of fp32: met (-1.38%)" in format_table([scored("int8", -0.0138)], 40)
    assert "missed (+7.75%)" in format_table([scored("int8", 0.0775)], 40)
    assert "not measured" in format_table([scored("fp32", 0.0)], 40)
