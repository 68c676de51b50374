"""The optimiser set-up of both networks against the published training scripts'.

Counts from method.md section 7 and the published checkpoints' optimiser state (every
parameter that gets a gradient has state: 479 student tensors, 201 teacher tensors).
"""

from __future__ import annotations

import pytest
import torch

from lircdepth.models import CaFNet, LiRCDepth
from lircdepth.training.optim import build_optimizer, freeze, parameter_groups


def count(parameters) -> int:
    return sum(p.numel() for p in parameters)


@pytest.fixture(scope="module")
def teacher() -> CaFNet:
    torch.manual_seed(0)
    return CaFNet()


def test_teacher_groups_as_published(teacher):
    groups = parameter_groups(teacher, trainable_only=False)
    assert list(groups) == [
        "encoder",
        "encoder_radar1",
        "encoder_radar2",
        "decoder_radar",
        "decoder",
    ]
    decayed = count(p for name, ps in groups.items() if name != "decoder" for p in ps)
    assert (decayed, count(groups["decoder"])) == (48_011_014, 12_698_672)
    optimizer = build_optimizer(teacher, learning_rate=1e-4, weight_decay=1e-4, adam_eps=1e-2)
    decay = {g["name"]: g["weight_decay"] for g in optimizer.param_groups}
    assert decay == {
        "encoder": 1e-4,
        "encoder_radar1": 1e-4,
        "encoder_radar2": 1e-4,
        "decoder_radar": 1e-4,
        "decoder": 0.0,
    }


def test_teacher_frozen_parameters_as_published():
    """The first image conv (9,408), the block batch-norm affines of the three ResNets
    (17,024 - 1,792 + 2 x (9,600 - 1,792): not the downsample norms) and the 92 mask
    kernel values: 40,348 values; 201 tensors still train."""
    torch.manual_seed(0)
    model = CaFNet()
    frozen = model.published_frozen_parameters()
    assert freeze(frozen) == 40_348
    assert len(frozen) == 1 + 2 * (33 + 2 * 17) + 4
    names = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert "image_encoder.stem.0.weight" in names
    assert "radar_encoder_stage2.stem.0.weight" not in names
    assert not any("downsample" in name for name in names)
    assert sum(1 for p in model.parameters() if p.requires_grad) == 201
    trainable = parameter_groups(model)
    assert count(trainable["encoder"]) == 21_284_672 - 9_408 - 15_232
    assert count(trainable["decoder"]) == 12_698_672
    optimizer = build_optimizer(model, learning_rate=1e-4, weight_decay=1e-4, adam_eps=1e-2)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 201


def test_student_groups_as_published():
    """encoder / encoder_radar / decoder with weight decay 1e-4 / 1e-4 / 0; the fusion
    convs belong to the decoder; nothing is frozen (479 tensors train)."""
    model = LiRCDepth()
    optimizer = build_optimizer(model, learning_rate=5e-5, weight_decay=1e-4, adam_eps=1e-2)
    groups = {g["name"]: g for g in optimizer.param_groups}
    assert [g["name"] for g in optimizer.param_groups] == ["encoder", "encoder_radar", "decoder"]
    assert [g["weight_decay"] for g in optimizer.param_groups] == [1e-4, 1e-4, 0.0]
    sizes = [count(groups[name]["params"]) for name in ("encoder", "encoder_radar", "decoder")]
    assert sizes == [2_902_272, 2_920_300, 6_822_656]
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 479
    assert (optimizer.defaults["lr"], optimizer.defaults["eps"]) == (5e-5, 1e-2)
    assert optimizer.defaults["fused"], "CPU and CUDA take the fused AdamW kernel"
