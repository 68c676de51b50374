"""`lircdepth synth` end to end, and the keyframe preview picture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from lircdepth.synth.preview import colorize_depth, render_preview

LIRCDEPTH = Path(sys.executable).parent / "lircdepth"


def test_synth_command_writes_a_dataset_summary_and_preview(tmp_path):
    out = tmp_path / "world"
    result = subprocess.run(
        [
            str(LIRCDEPTH),
            "synth",
            "--out",
            str(out),
            "--scenes",
            "1",
            "--keyframes",
            "2",
            "--width",
            "96",
            "--height",
            "64",
            "--version",
            "v1.0-trainval",
            "--no-camera-sweeps",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "scenes 1, samples 2" in result.stdout
    assert "CAM_FRONT        2 / 2" in result.stdout, "no camera sweeps were asked for"
    assert "vehicle.car" in result.stdout and "s per keyframe" in result.stdout
    assert (out / "v1.0-trainval" / "sample.json").is_file()
    assert len(list((out / "depth_gt").glob("*.npy"))) == 2
    preview = cv2.imread(str(out / "preview.png"))
    assert preview.shape == (64, 2 * 96, 3)


def test_synth_command_rejects_bad_sizes_with_a_message(tmp_path):
    result = subprocess.run(
        [str(LIRCDEPTH), "synth", "--out", str(tmp_path), "--width", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "width" in result.stdout + result.stderr
    assert not (tmp_path / "v1.0-mini").exists()


def test_preview_draws_projected_points_beside_the_true_depth(synth_root, tmp_path):
    path = render_preview(synth_root, "v1.0-mini", tmp_path / "p.png", sample_index=2)
    preview = cv2.imread(str(path))
    assert preview.shape == (388, 2 * 704, 3)
    image_half, depth_half = preview[:, :704], preview[:, 704:]
    assert (depth_half.sum(axis=2) == 0).any() and (depth_half.sum(axis=2) > 0).mean() > 0.5
    radar_rings = np.all(image_half > 250, axis=2).sum()
    assert radar_rings > 100, "white rings around radar points"


def test_depth_colours_run_from_near_red_to_far_blue():
    near, far = colorize_depth(np.array([1.0, 59.0]))
    assert near[2] > near[0] and far[0] > far[2]  # BGR
    assert colorize_depth(np.zeros((3, 4))).shape == (3, 4, 3)
