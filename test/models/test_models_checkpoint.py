"""Checkpoints: atomic save, clear errors, DataParallel prefixes, all-or-nothing weight loading."""

from __future__ import annotations

import pytest
import torch

from lircdepth.models import LiRCDepth, build_model
from lircdepth.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model,
    load_state_dict_strict,
    save_checkpoint,
    strip_wrapper_prefix,
)


@pytest.fixture(scope="module")
def student() -> LiRCDepth:
    torch.manual_seed(3)
    return LiRCDepth(max_depth=80.0).eval()


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_rebuilds_the_same_network(tmp_path, student):
    path = save_checkpoint(
        tmp_path / "sub" / "ckpt.pt",
        {
            "arch": "lircdepth",
            "model_config": {"max_depth": 80.0},
            "model": student.state_dict(),
            "epoch": 3,
        },
    )
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temp file left behind
    model, checkpoint = load_model(path)
    assert isinstance(model, LiRCDepth) and model.max_depth == 80.0 and not model.training
    assert checkpoint["epoch"] == 3 and _same_weights(model, student)


def test_conftest_fixture_checkpoint_loads(student_checkpoint):
    model, checkpoint = load_model(student_checkpoint)
    assert checkpoint["arch"] == "lircdepth" and isinstance(model, LiRCDepth)


def test_dataparallel_prefix_is_stripped(student):
    wrapped = {f"module.{k}": v for k, v in student.state_dict().items()}
    assert strip_wrapper_prefix(wrapped).keys() == student.state_dict().keys()
    model, _ = load_model(
        {"arch": "lircdepth", "model_config": {"max_depth": 80.0}, "model": wrapped}
    )
    assert _same_weights(model, student)


def test_missing_and_unexpected_keys_are_refused_by_name(student):
    state = dict(student.state_dict())
    state.pop("decoder.depth_head.weight")
    state["decoder.extra.weight"] = torch.zeros(1)
    target = build_model("lircdepth")
    before = target.decoder.refine[0].weight.clone()
    with pytest.raises(CheckpointError) as raised:
        load_state_dict_strict(target, state, "ckpt.pt")
    message = str(raised.value)
    assert "ckpt.pt" in message and "1 weight(s) missing: decoder.depth_head.weight" in message
    assert "1 unexpected weight(s): decoder.extra.weight" in message
    assert torch.equal(target.decoder.refine[0].weight, before)  # nothing half-loaded


def test_load_model_refuses_an_incomplete_checkpoint(student):
    state = {k: v for k, v in student.state_dict().items() if not k.startswith("radar_encoder.")}
    with pytest.raises(CheckpointError, match=r"\d+ weight\(s\) missing: radar_encoder\.stem"):
        load_model({"arch": "lircdepth", "model_config": {"max_depth": 80.0}, "model": state})


def test_shape_mismatch_is_refused(student):
    state = dict(student.state_dict())
    state["decoder.depth_head.weight"] = torch.zeros(2, 32, 3, 3)
    target = build_model("lircdepth")
    before = target.decoder.depth_head.weight.clone()
    with pytest.raises(CheckpointError, match="decoder.depth_head.weight"):
        load_state_dict_strict(target, state)
    assert torch.equal(target.decoder.depth_head.weight, before)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"\x00not a torch file" * 10)
    with pytest.raises(CheckpointError, match="corrupt.pt"):
        load_checkpoint(path)


def test_foreign_file_is_named(tmp_path):
    path = tmp_path / "weights_only.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="weights_only.pt.*not a LiRCDepth checkpoint"):
        load_checkpoint(path)


def test_checkpoint_without_arch_is_refused(student):
    with pytest.raises(CheckpointError, match="arch"):
        load_model({"model": student.state_dict()})
