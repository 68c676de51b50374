"""Training as separate processes: resume after SIGKILL, and DDP with gloo on 2 CPU processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import torch

from lircdepth.models.checkpoint import CheckpointError, load_checkpoint

NO_DISTILL = [
    *("--w_image_feature_distill", "0", "--w_radar_feature_distill", "0"),
    *("--w_pairwise_distill", "0", "--w_inter_depth_distill", "0"),
]


def train_argv(prepared_root, log_directory, max_steps, threads=1):
    return [
        *("train", "student", "--data_path", str(prepared_root)),
        *("--log_directory", str(log_directory)),
        *("--input_height", "64", "--input_width", "128", "--batch_size", "2", "--workers", "0"),
        *("--num_threads", str(threads), "--max_steps", str(max_steps), "--save_freq", "1"),
        *("--eval_freq", "0", "--max_val_images", "1", "--image_log_freq", "1000"),
        *("--no-progress", "--device", "cpu", *NO_DISTILL),
    ]


def lircdepth(*argv):
    return [sys.executable, "-m", "lircdepth", *argv]


def saved_step(path):
    try:
        return load_checkpoint(path, map_location="cpu")["global_step"]
    except CheckpointError:
        return -1


def test_sigkilled_run_resumes_to_the_same_weights(prepared_root, tmp_path):
    steps = 16
    straight = subprocess.run(
        lircdepth(*train_argv(prepared_root, tmp_path / "a", steps)), capture_output=True
    )
    assert straight.returncode == 0, straight.stderr.decode()[-3000:]

    last = tmp_path / "b" / "student" / "last.pt"
    victim = subprocess.Popen(lircdepth(*train_argv(prepared_root, tmp_path / "b", steps)))
    deadline = time.monotonic() + 300
    while saved_step(last) < 3 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    killed_at = saved_step(last)
    assert 3 <= killed_at < steps

    resumed = subprocess.run(
        lircdepth(*train_argv(prepared_root, tmp_path / "b", steps)), capture_output=True
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-3000:]
    assert f"resumed from {last} at step {killed_at}/{steps}" in resumed.stdout.decode()
    a = load_checkpoint(tmp_path / "a" / "student" / "last.pt", map_location="cpu")
    b = load_checkpoint(last, map_location="cpu")
    assert a["global_step"] == b["global_step"] == steps
    assert a["epoch"] == b["epoch"]
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), f"{name} differs after resume"


def test_ddp_gloo_two_cpu_processes(prepared_root, tmp_path):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [
        *(*launcher, "--nproc_per_node", "2", "-m", "lircdepth"),
        *train_argv(prepared_root, tmp_path, max_steps=2, threads=1),
    ]
    result = subprocess.run(command, capture_output=True, timeout=600)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    state = load_checkpoint(tmp_path / "student" / "last.pt", map_location="cpu")
    assert state["global_step"] == 2
    assert state["data_order"]["world_size"] == 2
    assert len(state["rng"]) == 2  # each rank's random state, for exact resume
