"""`lircdepth demo --rig full --quick` end to end in a real process (slow: a few minutes):
six-camera world, prepare, rig student, per-camera offline and online scores, surround picture."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lircdepth.synth.config import FULL_CAMERAS

pytestmark = pytest.mark.slow


def test_rig_demo_scores_every_camera_online_and_draws_the_surround_view(tmp_path):
    argv = [
        sys.executable,
        "-m",
        "lircdepth",
        "demo",
        "--rig",
        "full",
        "--quick",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = tmp_path / "rig_full"
    report = (out / "report.md").read_text()
    offline = json.loads((out / "eval" / "per_camera.json").read_text())
    (online_json,) = (out / "online").glob("*.json")
    online = json.loads(online_json.read_text())
    assert set(offline["cameras"]) == set(online["cameras"]) == set(FULL_CAMERAS)
    assert online["cameras_silent"] == [] and online["frames_scored"] >= len(FULL_CAMERAS)
    for camera in FULL_CAMERAS:
        assert f"| {camera} |" in report
        assert online["cameras"][camera]["metrics"]["80"]["num_images"] >= 1
    assert "| rig (all cameras) |" in report
    for picture in ("surround.png", "preview_rig.png"):
        assert (out / picture).stat().st_size > 10_000 and f"({picture})" in report
