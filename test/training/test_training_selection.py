"""Checkpoint selection and the ground truth scored: the project's default (val split,
one best.pt by MAE, single-scan lidar) and the published protocol as options."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from lircdepth.cli import main
from lircdepth.models.checkpoint import load_checkpoint
from lircdepth.training.evaluate import evaluate_model_on
from lircdepth.training.selection import update_best_per_metric
from lircdepth.training.trainer import train
from test.helpers.training import NO_DISTILL, tiny_runs

tiny_options = tiny_runs(max_steps=2, save_freq=0, log_freq=1, image_log_freq=1000)


def _scores(**values):
    scores = dict.fromkeys(
        ["mae", "rmse", "imae", "irmse", "abs_rel", "sq_rel", "rmse_log", "silog", "log10"], 5.0
    )
    scores.update(delta1=0.5, delta2=0.6, delta3=0.7)
    scores.update(values)
    return scores


def test_best_per_metric_by_hand():
    best: dict = {}
    assert len(update_best_per_metric(best, _scores(), 10)) == 12  # first scores: all best
    improved = update_best_per_metric(best, _scores(mae=6.0, rmse=4.0, delta1=0.55), 20)
    assert improved == ["rmse", "delta1"]  # lower RMSE and higher delta1; MAE got worse
    assert best["mae"] == {"value": 5.0, "global_step": 10}
    assert best["delta1"] == {"value": 0.55, "global_step": 20}
    assert update_best_per_metric(best, _scores(mae=float("nan")), 30) == []


class ConstantDepth(torch.nn.Module):
    def forward(self, image, radar):
        return SimpleNamespace(depth=torch.full((image.shape[0], 1, 4, 4), 10.0))


def test_one_pass_scores_single_scan_and_accumulated_lidar():
    batch = {
        "image": torch.zeros(1, 3, 4, 4),
        "radar": torch.zeros(1, 4, 4, 4),
        "lidar_single": torch.full((1, 1, 4, 4), 12.0),
        "lidar_accum": torch.full((1, 1, 4, 4), 15.0),
        "token": ["t"],
    }
    scores, _ = evaluate_model_on(
        ConstantDepth(), [batch], torch.device("cpu"), ("lidar_single", "lidar_accum")
    )
    assert scores["lidar_single"]["80"]["mae"] == pytest.approx(2.0)
    assert scores["lidar_accum"]["80"]["mae"] == pytest.approx(5.0)


def test_published_protocol_scores_the_named_split_and_keeps_a_file_per_metric(
    prepared_root, tmp_path
):
    options = tiny_options(
        "student",
        prepared_root,
        tmp_path,
        **NO_DISTILL,
        eval_freq=1,
        val_split="test",
        best_per_metric=True,
    )
    train(options)
    run = tmp_path / "student"
    last = load_checkpoint(run / "last.pt", map_location="cpu")
    assert set(last["best_by_metric"]) == {
        "mae", "rmse", "imae", "irmse", "abs_rel", "sq_rel", "rmse_log", "silog", "log10",
        "delta1", "delta2", "delta3",
    }  # fmt: skip
    for metric, record in last["best_by_metric"].items():
        saved = load_checkpoint(run / f"best_{metric}.pt", map_location="cpu")
        assert saved["global_step"] == record["global_step"] in (1, 2)
    assert last["config"]["val_split"] == "test"


def test_default_keeps_one_best_file_and_evaluate_names_each_ground_truth(
    prepared_root, tmp_path, capsys
):
    train(tiny_options("student", prepared_root, tmp_path, **NO_DISTILL, max_steps=1))
    assert sorted(p.name for p in (tmp_path / "student").glob("best*.pt")) == ["best.pt"]
    checkpoint = tmp_path / "student" / "best.pt"
    argv = ["evaluate", "--checkpoint", str(checkpoint), "--data", str(prepared_root)]
    argv += ["--split", "val", "--max-images", "1", "--json", str(tmp_path / "m.json")]
    argv += ["--device", "cpu", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ground truth: single-scan lidar (the paper's ground truth)" in out
    assert "ground truth: accumulated lidar" in out
    report = json.loads((tmp_path / "m.json").read_text())
    assert set(report["metrics_by_ground_truth"]) == {"lidar_single", "lidar_accum"}
    assert report["metrics"] == report["metrics_by_ground_truth"]["lidar_single"]
    accumulated = report["metrics_by_ground_truth"]["lidar_accum"]["80"]
    assert accumulated["num_images"] == 1 and accumulated["mae"] > 0
    assert main([*argv, "--ground-truth", "accumulated"]) == 0
    report = json.loads((tmp_path / "m.json").read_text())
    assert set(report["metrics_by_ground_truth"]) == {"lidar_accum"}
    assert report["metrics"] is None
