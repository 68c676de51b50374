"""The inference benchmark and the `lircdepth bench` dispatcher."""

from __future__ import annotations

from lircdepth.bench_cli import BENCHMARKS, find_benchmark
from lircdepth.cli import main as lircdepth_main
from lircdepth.inference.benchmark import format_tables


def row(network: str, total: float) -> dict:
    return {
        "network": network,
        "engine": "torch[cpu]",
        "dtype": "fp32",
        "size": [896, 1600],
        "peak_mb": 900.0,
        "total": total,
        "cpu": 2 * total,
        "preprocess": 0.01,
        "model": total - 0.02,
        "postprocess": 0.01,
    }


def test_table_has_stage_split_and_speedup():
    table = format_tables([row("student", 1.0), row("teacher", 5.0)])
    assert "5.00x" in table
    assert "1000.0" in table and "1.00" in table  # median ms and FPS of the student
    assert "2.0%" in table  # (pre + post) / model of the student


def test_bench_inference_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "rows.json"
    args = [
        "bench",
        "inference",
        "--models",
        "student",
        "--backends",
        "torch",
        "--sizes",
        "64x96",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--threads",
        "1",
        "--json",
        str(out),
    ]
    assert lircdepth_main(args) == 0
    printed = capsys.readouterr().out
    assert "student  torch[cpu]" in printed and "64x96" in printed
    assert out.read_text().count('"network"') == 1


def test_every_benchmark_is_found():
    assert all(find_benchmark(name) is not None for name in BENCHMARKS)


def test_arguments_reach_a_bench_script(capsys):
    assert lircdepth_main(["bench", "prepare", "--help"]) == 0
    assert "bench_prepare.py" in capsys.readouterr().out
