"""Short real training runs on the prepared synthetic world (tiny crop, a few steps)."""

from __future__ import annotations

import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lircdepth.cli import main
from lircdepth.models.checkpoint import load_checkpoint
from lircdepth.training.options import TrainingSetupError
from lircdepth.training.trainer import TrainingDiverged, train
from test.helpers.training import NO_DISTILL, tiny_runs

tiny_options = tiny_runs(max_steps=2, save_freq=1, log_freq=1, image_log_freq=1)


def tensorboard_tags(run_dir):
    events = EventAccumulator(
        str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0}
    )
    events.Reload()
    return set(events.Tags()["scalars"]), set(events.Tags()["images"])


@pytest.fixture(scope="module")
def teacher_run(prepared_root, module_tmp_path):
    summary = train(tiny_options("teacher", prepared_root, module_tmp_path, save_freq=0))
    return module_tmp_path / "teacher", summary


def test_teacher_run_writes_checkpoints_options_and_tensorboard(teacher_run):
    run_dir, summary = teacher_run
    assert summary["global_step"] == 2
    last = load_checkpoint(run_dir / "last.pt", map_location="cpu")
    assert last["arch"] == "cafnet" and last["global_step"] == 2
    assert {"model", "optimizer", "scheduler", "rng", "best", "config", "model_config"} <= set(last)
    assert last["best"]["global_step"] == 2 and last["best"]["cap"] == 80
    best = load_checkpoint(run_dir / "best.pt", map_location="cpu")
    assert best["optimizer"] is None and best["model"].keys() == last["model"].keys()
    assert "--input_height 64" in (run_dir / "options.txt").read_text()
    scalars, images = tensorboard_tags(run_dir)
    assert {
        "train/total",
        "train/depth_interp",
        "train/confidence",
        "train/smoothness",
        "train/lr_encoder",
        "train/lr_decoder_radar",
        "train/lr_decoder",
    } <= scalars
    # Published: five groups, and state only for the 201 tensors that are not frozen.
    groups = last["optimizer"]["param_groups"]
    assert [g["weight_decay"] for g in groups] == [1e-4] * 4 + [0.0]
    assert len(last["optimizer"]["state"]) == 201
    assert "val/80m/mae" in scalars and "val/50m/delta1" in scalars
    assert {"train/panel", "val/panel"} <= images


def test_student_distilled_from_the_teacher(teacher_run, prepared_root, tmp_path):
    teacher_dir, _ = teacher_run
    options = tiny_options(
        "student",
        prepared_root,
        tmp_path,
        teacher_checkpoint=str(teacher_dir / "last.pt"),
        channels_last=True,
    )
    assert train(options)["global_step"] == 2
    last = load_checkpoint(tmp_path / "student" / "last.pt", map_location="cpu")
    assert last["arch"] == "lircdepth"
    stem = last["model"]["image_encoder.backbone.stages.0.0.0.weight"]
    assert stem.is_contiguous(memory_format=torch.channels_last) and not stem.is_contiguous()
    scalars, _ = tensorboard_tags(tmp_path / "student")
    distill_terms = {
        "image_feature_distill",
        "radar_feature_distill",
        "pairwise_distill",
        "inter_depth_distill",
    }
    assert {f"train/{t}" for t in distill_terms} <= scalars


def test_student_distillation_without_teacher_is_a_clear_error(prepared_root, tmp_path):
    with pytest.raises(TrainingSetupError, match="--teacher_checkpoint"):
        train(tiny_options("student", prepared_root, tmp_path))


def test_cli_reports_a_missing_teacher_checkpoint(prepared_root, tmp_path, capsys):
    argv = ["train", "student", "--data_path", str(prepared_root), "--log_directory", str(tmp_path)]
    argv += ["--teacher_checkpoint", str(tmp_path / "nowhere.pt"), "--input_height", "64"]
    argv += ["--input_width", "128", "--batch_size", "2", "--workers", "0", "--num_threads", "1"]
    assert main(argv) == 2
    assert "nowhere.pt does not exist" in capsys.readouterr().err


def test_run_continues_from_last_checkpoint(prepared_root, tmp_path):
    train(tiny_options("student", prepared_root, tmp_path, max_steps=1, **NO_DISTILL))
    summary = train(tiny_options("student", prepared_root, tmp_path, max_steps=3, **NO_DISTILL))
    assert summary["global_step"] == 3
    last = load_checkpoint(tmp_path / "student" / "last.pt", map_location="cpu")
    assert last["global_step"] == 3
    # Without feature distillation the authors' baseline network is built: no fusion convs.
    assert last["model_config"]["feature_distill"] is False
    assert not any("fusion" in key for key in last["model"])


def test_narrow_student_features_with_feature_distillation_are_refused(prepared_root, tmp_path):
    options = tiny_options(
        "student", prepared_root, tmp_path, model_config={"feature_distill": False}
    )
    with pytest.raises(TrainingSetupError, match="feature_distill"):
        train(options)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(prepared_root, tmp_path, capsys):
    options = tiny_options(
        "student", prepared_root, tmp_path, max_steps=4, debug_nan_at_step=1, **NO_DISTILL
    )
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 2 .*last\.pt is kept"):
        train(options)
    last = load_checkpoint(tmp_path / "student" / "last.pt", map_location="cpu")
    assert last["global_step"] == 1
    assert all(torch.isfinite(v).all() for v in last["model"].values() if v.is_floating_point())


def test_evaluate_cli_writes_json_markdown_and_pngs(teacher_run, prepared_root, tmp_path, capsys):
    run_dir, _ = teacher_run
    argv = ["evaluate", "--checkpoint", str(run_dir / "best.pt"), "--data", str(prepared_root)]
    argv += ["--split", "val", "--max-images", "1", "--json", str(tmp_path / "m.json")]
    argv += ["--markdown", str(tmp_path / "m.md"), "--save-png", str(tmp_path / "png")]
    argv += ["--device", "cpu"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["arch"] == "cafnet" and report["split"] == "val"
    assert set(report["metrics"]) == {"50", "70", "80"}
    assert report["metrics"]["80"]["num_images"] == 1
    assert report["metrics"]["80"]["mae"] > 0
    assert "| 80 | 1 |" in (tmp_path / "m.md").read_text()
    assert "MAE (m)" in capsys.readouterr().out
    assert len(list((tmp_path / "png").glob("*_depth.png"))) == 1
    assert len(list((tmp_path / "png").glob("*_error.png"))) == 1


def test_evaluate_cli_missing_checkpoint(tmp_path, capsys):
    assert (
        main(["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--data", str(tmp_path)]) == 2
    )
    assert "checkpoint not found" in capsys.readouterr().err
