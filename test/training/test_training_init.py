"""`train --init_checkpoint`: weights from a project or published checkpoint, fresh optimiser, step 0."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from lircdepth.cli import main
from lircdepth.models.checkpoint import load_checkpoint, load_model
from lircdepth.training.options import TrainingSetupError
from lircdepth.training.trainer import train
from test.helpers.training import NO_DISTILL, tiny_runs

options = tiny_runs(max_steps=1, save_freq=1)


def _published_module():
    path = Path(__file__).resolve().parents[1] / "models" / "test_models_published.py"
    spec = importlib.util.spec_from_file_location("published_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_student_starts_from_a_project_checkpoint_at_step_zero(
    student_checkpoint, prepared_root, tmp_path
):
    init, _ = load_model(student_checkpoint)
    summary = train(
        options(
            "student",
            prepared_root,
            tmp_path,
            init_checkpoint=str(student_checkpoint),
            **NO_DISTILL,
        )
    )
    assert summary["global_step"] == 1
    last = load_checkpoint(tmp_path / "student" / "last.pt")
    assert last["global_step"] == 1 and last["config"]["init_checkpoint"] == str(student_checkpoint)
    # A fresh optimiser: one Adam step of moments, not the checkpoint's.
    assert all(int(s["step"]) == 1 for s in last["optimizer"]["state"].values())
    # One step with lr 5e-5 from the initial weights: close to them, far from a new network.
    start = init.state_dict()
    weight = "image_encoder.backbone.stages.0.0.0.weight"
    moved = (last["model"][weight] - start[weight]).abs().max().item()
    assert 0 < moved < 1e-3


def test_teacher_fine_tunes_the_published_cafnet(prepared_root, tmp_path):
    published = _published_module().write_published("cafnet", tmp_path)
    converted, meta = load_model(published)
    # The published argument files ask for ImageNet encoders: not fetched when initialising.
    init = {"init_checkpoint": str(published), "model_config": {"pretrained": True}}
    train(options("teacher", prepared_root, tmp_path, **init))
    last = load_checkpoint(tmp_path / "teacher" / "last.pt")
    assert last["global_step"] == 1
    assert last["model_config"]["num_features"] == meta["model_config"]["num_features"]
    assert last["model_config"]["pretrained"] is False
    # The parameters kept fixed as published are exactly the published ones after the step.
    fixed = {id(p) for p in converted.published_frozen_parameters()}
    frozen = {name for name, p in converted.named_parameters() if id(p) in fixed}
    assert frozen
    start = converted.state_dict()
    assert all(torch.equal(last["model"][name], start[name]) for name in frozen)


def test_a_checkpoint_of_the_other_network_is_one_line(student_checkpoint, prepared_root, tmp_path):
    with pytest.raises(
        TrainingSetupError,
        match=r"holds a LiRCDepth \(the student\) network; "
        r"this run trains CaFNet",
    ):
        train(options("teacher", prepared_root, tmp_path, init_checkpoint=str(student_checkpoint)))


def test_other_network_options_and_range_are_refused(student_checkpoint, prepared_root, tmp_path):
    args = ("student", prepared_root, tmp_path)
    init = str(student_checkpoint)
    with pytest.raises(TrainingSetupError, match="does not fit the LiRCDepth network"):
        train(
            options(
                *args, init_checkpoint=init, model_config={"feature_distill": False}, **NO_DISTILL
            )
        )
    project = load_checkpoint(student_checkpoint)
    project["model_config"] = {"max_depth": 80.0}
    other = tmp_path / "range80.pt"
    torch.save(project, other)
    with pytest.raises(TrainingSetupError, match="max_depth 80, this run has --max_depth 100"):
        train(options(*args, init_checkpoint=str(other), **NO_DISTILL))


def test_cli_missing_init_checkpoint_is_one_line(prepared_root, tmp_path, capsys):
    argv = ["train", "teacher", "--data_path", str(prepared_root), "--log_directory", str(tmp_path)]
    argv += ["--init_checkpoint", str(tmp_path / "none.pt")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[0]
        == f"lircdepth train: error: --init_checkpoint: checkpoint {tmp_path}/none.pt does not exist"
    )
