"""Every loss on tiny hand-made tensors, with the arithmetic written out."""

from __future__ import annotations

import math

import pytest
import torch

from lircdepth.losses import (
    DistillationLoss,
    DistillationWeights,
    TeacherLoss,
    edge_aware_smoothness,
    inter_depth_distillation,
    pairwise_distillation,
    pixelwise_feature_distillation,
    pooled_similarity,
    uncertainty_rectified_depth_loss,
)
from lircdepth.models.teacher import TeacherOutput


def row(*values: float) -> torch.Tensor:
    """A 1 x 1 x 1 x N depth map."""
    return torch.tensor(values, dtype=torch.float32).view(1, 1, 1, -1)


def softmax_weight(u: float) -> float:
    """Softmax weight of uncertainty u against the other map's 1 (off its mask)."""
    return math.exp(u) / (math.exp(u) + math.e)


# Pixels: a, b in M (interp only); c, e in S (single-scan lidar); d has no target.
DEPTH_INTERP = row(4, 10, 4, 0, 0)
LIDAR_SINGLE = row(0, 0, 5, 0, 8)
PRED = row(2, 9, 4, 50, 8)


def expected_depth_loss() -> float:
    u_a, u_b = 1 - math.exp(-5 * 2 / 6), 1 - math.exp(-5 * 1 / 19)
    inter = (softmax_weight(u_a) * 2 + softmax_weight(u_b) * 1) / (
        softmax_weight(u_a) + softmax_weight(u_b)
    )
    u_c, u_e = 1 - math.exp(-5 * 1 / 9), 0.0
    single = (softmax_weight(u_c) * 1 + softmax_weight(u_e) * 0) / (
        softmax_weight(u_c) + softmax_weight(u_e)
    )
    return inter + single


def test_depth_loss_by_hand():
    loss = uncertainty_rectified_depth_loss(PRED, DEPTH_INTERP, LIDAR_SINGLE)
    assert loss.item() == pytest.approx(expected_depth_loss(), rel=1e-5)


def test_depth_loss_is_per_sample_by_default_and_the_published_broadcast_on_request():
    """Two 1 x 1 samples, both only in M: sample 0 exact (P = D = 10), sample 1 off by
    10 m (P = 10, D = 20). Per sample: each error meets its own weight. Published
    broadcast (B x 1 x H x W mask times B x H x W weight -> B x B x H x W): every error
    meets every sample's weight, sum_ij M_i w_j e_i / (sum_ij M_i w_j + 1e-7 B^2 H W)."""
    pred = torch.tensor([10.0, 10.0]).view(2, 1, 1, 1)
    interp = torch.tensor([10.0, 20.0]).view(2, 1, 1, 1)
    single = torch.zeros(2, 1, 1, 1)
    w0, w1 = softmax_weight(0.0), softmax_weight(1 - math.exp(-5 * 10 / 30))
    per_sample = uncertainty_rectified_depth_loss(pred, interp, single)
    assert per_sample.item() == pytest.approx(10 * w1 / (w0 + w1), rel=1e-5)  # 6.27
    broadcast = uncertainty_rectified_depth_loss(pred, interp, single, published_broadcast=True)
    assert broadcast.item() == pytest.approx(10 * (w0 + w1) / (2 * (w0 + w1) + 4e-7), rel=1e-5)
    assert broadcast.item() == pytest.approx(5.0, rel=1e-5)
    # One sample: no other sample to mix with, the same loss (up to the 1e-7 per pixel).
    one = uncertainty_rectified_depth_loss(PRED, DEPTH_INTERP, LIDAR_SINGLE, True)
    assert one.item() == pytest.approx(expected_depth_loss(), rel=1e-5)
    weights = DistillationWeights(w_smoothness=0.0, depth_loss_broadcast=True)
    batch = {"depth_interp": interp, "lidar_single": single}
    total, _ = DistillationLoss(weights)(_Out(pred), None, batch)
    assert total.item() == pytest.approx(5.0, rel=1e-5)
    assert DistillationWeights().depth_loss_broadcast is False


class _Out:
    def __init__(self, depth: torch.Tensor) -> None:
        self.depth = depth


def test_depth_loss_masks():
    pred = PRED.clone()
    pred[..., 3] = 1.0  # d: no target at all
    assert uncertainty_rectified_depth_loss(
        pred, DEPTH_INTERP, LIDAR_SINGLE
    ).item() == pytest.approx(expected_depth_loss(), rel=1e-5)
    interp = DEPTH_INTERP.clone()
    interp[..., 2] = 40.0  # c: single-scan lidar wins, so D is not used there (M excludes S)
    assert uncertainty_rectified_depth_loss(PRED, interp, LIDAR_SINGLE).item() == pytest.approx(
        expected_depth_loss(), rel=1e-5
    )


def test_depth_loss_zero_on_target_and_zero_without_targets():
    perfect = torch.where(LIDAR_SINGLE > 0, LIDAR_SINGLE, DEPTH_INTERP)
    assert uncertainty_rectified_depth_loss(
        perfect, DEPTH_INTERP, LIDAR_SINGLE
    ).item() == pytest.approx(0, abs=1e-7)
    empty = torch.zeros_like(PRED)
    assert uncertainty_rectified_depth_loss(PRED, empty, empty).item() == 0


def shifted_levels(offsets):
    """Teacher levels of different shapes and students shifted by a constant each."""
    torch.manual_seed(0)
    teacher = [torch.randn(1, 2, 8 // 2**i, 8 // 2**i) for i in range(len(offsets))]
    return [t + c for t, c in zip(teacher, offsets, strict=True)], teacher


def test_pixelwise_feature_distillation_by_hand():
    student, teacher = shifted_levels((1.0, 2.0, 4.0))  # finest first, L1 = |offset|
    # Deepest first (image): 2^-0 * 4 + 2^-1 * 2 + 2^-2 * 1 = 5.25.
    assert pixelwise_feature_distillation(
        student, teacher, deepest_first=True
    ).item() == pytest.approx(5.25)
    # Finest first (radar): 2^-0 * 1 + 2^-1 * 2 + 2^-2 * 4 = 3.
    assert pixelwise_feature_distillation(
        student, teacher, deepest_first=False
    ).item() == pytest.approx(3.0)
    assert pixelwise_feature_distillation(teacher, teacher, deepest_first=True).item() == 0


def test_feature_distillation_names_a_mismatched_level():
    student, teacher = shifted_levels((1.0, 2.0))
    with pytest.raises(ValueError, match="level 1"):
        pixelwise_feature_distillation(student, [teacher[0], teacher[0]], deepest_first=False)


def positions(*vectors) -> torch.Tensor:
    """A 1 x C x 1 x N map whose N positions hold the given C-vectors."""
    return (
        torch.tensor(vectors, dtype=torch.float32).t().reshape(1, len(vectors[0]), 1, len(vectors))
    )


def test_pairwise_distillation_by_hand():
    student = positions((1.0, 0.0), (0.0, 1.0))  # orthogonal: similarity [[1, 0], [0, 1]]
    teacher = positions((1.0, 0.0), (1.0, 1.0))  # 45 degrees: [[1, c], [c, 1]], c = 1/sqrt(2)
    # Window int(1 * 0.2) -> 1, so no pooling; N = 2, B = 1: 2 * c^2 / 2^2 = 0.25 per level.
    assert pairwise_distillation([student], [teacher]).item() == pytest.approx(0.25)
    # Two levels, deepest first: the finest (last) weighs 1, the other 1/2.
    assert pairwise_distillation([student, student], [teacher, teacher]).item() == pytest.approx(
        0.375
    )


def test_pairwise_distillation_weights_count_from_the_finest_level():
    """As published: F1 (the last, finest level) weighs 1, F2 1/2, ..., F5 1/16."""
    student = positions((1.0, 0.0), (0.0, 1.0))
    teacher = positions((1.0, 0.0), (1.0, 1.0))  # 0.25 at a level that holds this pair
    for level in range(5):
        students = [teacher] * 5
        students[level] = student
        loss = pairwise_distillation(students, [teacher] * 5).item()
        assert loss == pytest.approx(0.25 * 2.0 ** -(4 - level)), level


def test_pairwise_normalisation_passes_no_gradient_through_the_norm():
    """Published: each vector is divided by its detached L2 norm (+1e-8). By hand, with
    x0 = (2, 0), x1 = (1, 1) against orthogonal teacher vectors: S_01 = 1/sqrt(2), loss
    2 S_01^2 / 4 = 0.25, d/dx0 = S_01 x1 / (|x0| |x1|) = (1/4, 1/4) and d/dx1 = (1/2, 0).
    Through the norm, the gradient would be orthogonal to each vector instead."""
    student = positions((2.0, 0.0), (1.0, 1.0)).requires_grad_()
    teacher = positions((1.0, 0.0), (0.0, 1.0))
    loss = pairwise_distillation([student], [teacher])
    assert loss.item() == pytest.approx(0.25)
    loss.backward()
    gradient = student.grad[0, :, 0, :].t()  # one row per position
    torch.testing.assert_close(gradient, torch.tensor([[0.25, 0.25], [0.5, 0.0]]))


def test_pairwise_distillation_ignores_scale_and_width():
    torch.manual_seed(0)
    teacher = torch.rand(2, 5, 20, 30)
    student = torch.cat([3 * teacher, 3 * teacher], dim=1)  # twice the channels, 3x larger
    assert pairwise_distillation([student], [teacher]).item() == pytest.approx(0, abs=1e-6)


def test_pooled_similarity_pools_a_fifth_of_the_map():
    features = torch.zeros(1, 1, 10, 10)
    features[0, 0, 0, 0] = 1.0  # only the first 2 x 2 window is non-zero after pooling
    similarity = pooled_similarity(features, 0.2)
    assert similarity.shape == (1, 25, 25)
    assert similarity[0, 0, 0].item() == pytest.approx(1.0)
    assert similarity[0].sum().item() == pytest.approx(1.0)
    # 11 x 11 with a 2 x 2 window: ceil mode keeps the partial last window, 6 x 6 positions.
    assert pooled_similarity(torch.rand(1, 1, 11, 11), 0.2).shape == (1, 36, 36)


def test_inter_depth_distillation_by_hand():
    teacher = [row(0.5, 0.2, 0.0, 0.3), row(0.5, 0.5, 0.5, 0.5)]
    student = [row(0.4, 0.2, 0.9, 0.3), row(0.25, 0.25, 0.25, 0.0)]
    mask_m = row(1, 1, 1, 0).bool()
    # Level 0: u = 1 - exp(-5 * 0.1 / 0.9), 0 (exact), 1 (teacher has no depth there).
    u0 = 1 - math.exp(-5 * 0.1 / 0.9)
    level0 = (u0 * 0.1 + 0 * 0 + 1 * 0.9) / (u0 + 0 + 1)
    # Level 1, the finest, weighs 1 (as published), level 0 1/2: the same error 0.25 with
    # the same u at every pixel in M.
    expected = 0.5 * level0 + 0.25
    assert inter_depth_distillation(student, teacher, mask_m).item() == pytest.approx(
        expected, rel=1e-5
    )
    student[1][..., 3] = 7.0  # outside M
    assert inter_depth_distillation(student, teacher, mask_m).item() == pytest.approx(
        expected, rel=1e-5
    )
    assert inter_depth_distillation(teacher, teacher, mask_m).item() == 0


def test_edge_aware_smoothness_by_hand():
    depth = torch.tensor([[1.0, 3.0], [2.0, 2.0]]).view(1, 1, 2, 2)
    image = torch.tensor([[0.0, 1.0], [0.0, 0.0]]).expand(1, 3, 2, 2)
    # x: |1-3| under an image step of 1, |2-2| under none -> (2 e^-1 + 0) / 2.
    # y: |1-2| under no step, |3-2| under a step of 1 -> (1 + e^-1) / 2.
    expected = math.exp(-1) + (1 + math.exp(-1)) / 2
    assert edge_aware_smoothness(depth, image).item() == pytest.approx(expected)
    assert edge_aware_smoothness(torch.full((1, 1, 4, 4), 9.0), torch.rand(1, 3, 4, 4)).item() == 0


def map_output(depth, confidence=None, coarse=None) -> TeacherOutput:
    """An output with only the full-size maps (the teacher loss reads nothing else)."""
    zeros = torch.zeros_like(depth)
    return TeacherOutput([], [], [], [], depth, zeros if confidence is None else confidence, coarse)


def rows2(*values: float) -> torch.Tensor:
    """A 1 x 1 x 2 x N map whose two rows both hold `values`."""
    return row(*values).expand(1, 1, 2, len(values))


def test_teacher_loss_by_hand():
    out = map_output(rows2(12, 20, 5), confidence=rows2(0.8, 0.3, 0.5), coarse=rows2(10, 15, 30))
    batch = {
        "image": torch.tensor([0.0, 1.0, 1.0]).expand(1, 3, 2, 3),
        "depth_interp": rows2(10, 20, 0),
        "lidar_single": rows2(0, 18, 0),
        "assoc_label": rows2(1, 0, 1),
    }
    total, terms = TeacherLoss()(out, batch)
    # Pixel 2 has no dense target, so it counts in no term but the smoothness, which the
    # published teacher training adds with weight 0.001: x-steps |12-20| under an image
    # step of 1 and |20-5| under none; the two equal rows make no y-steps.
    expected = {
        "depth_interp": (2 + 0) / 2,
        "depth_single": 2.0,
        "confidence": (-math.log(0.8) - math.log(0.7)) / 2,
        "coarse_depth": 0.5 * (0 + 5) / 2,
        "smoothness": 0.001 * (8 * math.exp(-1) + 15) / 2,
    }
    for name, value in expected.items():
        assert terms[name].item() == pytest.approx(value, rel=1e-5), name
    assert total.item() == pytest.approx(sum(expected.values()), rel=1e-5)
    assert terms["total"].item() == pytest.approx(total.item())


def test_teacher_loss_zero_on_target():
    target = row(10, 20, 30)
    out = map_output(target.clone(), confidence=row(1, 0, 1), coarse=target.clone())
    batch = {"depth_interp": target, "lidar_single": target, "assoc_label": row(1, 0, 1)}
    total, terms = TeacherLoss(w_smoothness=0.0)(out, batch)
    assert total.item() == pytest.approx(0, abs=1e-6)
    assert "smoothness" not in terms


def network_output(seed: int, requires_grad: bool = False) -> TeacherOutput:
    """Random features/depths with the levels of both networks at 64 x 64, batch 2."""
    torch.manual_seed(seed)

    def level(channels, stride):
        return torch.rand(2, channels, 64 // stride, 64 // stride, requires_grad=requires_grad)

    return TeacherOutput(
        decoder_features=[level(512, 16), level(128, 8), level(128, 4), level(64, 2), level(32, 1)],
        image_features=[level(64, 2), level(64, 4), level(128, 8), level(256, 16), level(512, 32)],
        radar_features=[level(64, 2), level(128, 4), level(128, 8), level(512, 16), level(512, 32)],
        inter_depths=[level(1, 1) for _ in range(3)],
        depth=(80 * level(1, 1)).detach().requires_grad_(requires_grad),
        confidence=level(1, 1),
        coarse_depth=level(1, 1),
    )


def depth_batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(5)
    interp = 50 * torch.rand(2, 1, 64, 64) * (torch.rand(2, 1, 64, 64) > 0.3)
    single = 50 * torch.rand(2, 1, 64, 64) * (torch.rand(2, 1, 64, 64) > 0.9)
    return {"image": torch.randn(2, 3, 64, 64), "depth_interp": interp, "lidar_single": single}


def test_distillation_loss_without_teacher_is_depth_plus_smoothness():
    student, batch = network_output(1), depth_batch()
    total, terms = DistillationLoss()(student, None, batch)
    assert set(terms) == {"depth", "smoothness", "total"}
    depth = uncertainty_rectified_depth_loss(
        student.depth, batch["depth_interp"], batch["lidar_single"]
    )
    smooth = 0.001 * edge_aware_smoothness(student.depth, batch["image"])
    assert total.item() == pytest.approx((depth + smooth).item(), rel=1e-6)


def test_distillation_terms_vanish_when_student_equals_teacher():
    student, batch = network_output(1), depth_batch()
    total, terms = DistillationLoss()(student, student, batch)
    distill = {
        "image_feature_distill",
        "radar_feature_distill",
        "pairwise_distill",
        "inter_depth_distill",
    }
    assert set(terms) == {"depth", "smoothness", "total"} | distill
    for name in distill:
        assert terms[name].item() == pytest.approx(0, abs=1e-6), name
    assert total.item() == pytest.approx((terms["depth"] + terms["smoothness"]).item(), rel=1e-6)


def test_distillation_loss_weights_terms_and_trains_only_the_student():
    student, teacher, batch = (
        network_output(1, requires_grad=True),
        network_output(2, requires_grad=True),
        depth_batch(),
    )
    weights = {"w_image_feature_distill": 2.0, "w_radar_feature_distill": 0.0, "w_smoothness": 0.0}
    total, terms = DistillationLoss(weights)(student, teacher, batch)
    assert "radar_feature_distill" not in terms and "smoothness" not in terms
    image_term = pixelwise_feature_distillation(
        student.image_features, teacher.image_features, deepest_first=True
    )
    assert terms["image_feature_distill"].item() == pytest.approx(2 * image_term.item(), rel=1e-6)
    assert total.item() == pytest.approx(
        sum(v.item() for k, v in terms.items() if k != "total"), rel=1e-6
    )
    total.backward()
    assert student.depth.grad is not None and student.image_features[0].grad is not None
    assert student.decoder_features[0].grad is not None and student.inter_depths[0].grad is not None
    assert teacher.image_features[0].grad is None and teacher.decoder_features[0].grad is None


def test_distillation_waits_for_its_start_epoch():
    loss = DistillationLoss(DistillationWeights(distill_start_epoch=3))
    student, teacher, batch = network_output(1), network_output(2), depth_batch()
    assert set(loss(student, teacher, batch, epoch=2)[1]) == {"depth", "smoothness", "total"}
    assert "pairwise_distill" in loss(student, teacher, batch, epoch=3)[1]


def test_bad_configuration_and_batches_are_named():
    with pytest.raises(ValueError, match="w_typo"):
        DistillationLoss({"w_typo": 1.0})
    with pytest.raises(KeyError, match="lidar_single"):
        DistillationLoss()(network_output(1), None, {"depth_interp": torch.zeros(2, 1, 64, 64)})
