"""`lircdepth demo` end to end in a real process: `--quick` always, the default size (slow)
with the method's ordering on the fixed seed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

NETWORKS = ("teacher", "student", "student_nodistill")


def run_demo(out: Path, *flags: str, timeout: int) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "lircdepth", "demo", "--out", str(out), *flags]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def mae_at_80(out: Path) -> dict[str, float]:
    """MAE at 80 m of each network on the held-out test split."""
    return {
        name: json.loads((out / "eval" / f"{name}.json").read_text())["metrics"]["80"]["mae"]
        for name in NETWORKS
    }


def test_quick_demo_trains_evaluates_replays_and_reports(tmp_path):
    run_demo(tmp_path, "--quick", timeout=900)
    report = (tmp_path / "report.md").read_text()
    for picture in ("preview.png", "panel.png", "loss_curves.png"):
        assert (tmp_path / picture).stat().st_size > 2000
        assert f"({picture})" in report
    for name in NETWORKS:
        assert f"| ↳ train {name}: 10 steps |" in report  # each process's own time
        assert "validation MAE" in (tmp_path / "logs" / f"train_{name}.log").read_text()
        assert math.isfinite(mae_at_80(tmp_path)[name])
    assert "| teacher CaFNet |" in report and "replayed through `lircdepth_node`" in report
    assert "training images/s" in report
    assert "| train student + student_nodistill (side by side) |" in report

    again = run_demo(tmp_path, "--quick", timeout=300)
    assert "== train" not in again.stdout  # every step was already on disk


@pytest.mark.slow
def test_default_demo_shows_the_papers_ordering(tmp_path):
    """Default demo, seed 0: teacher < student without distillation, distilled < without."""
    run_demo(tmp_path, "--skip-ros", timeout=3600)
    mae = mae_at_80(tmp_path)
    assert mae["teacher"] < mae["student_nodistill"], mae
    assert mae["student"] < mae["student_nodistill"], mae
