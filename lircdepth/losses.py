"""Every training loss of the teacher (CaFNet) and the student (LiRCDepth).

Notation: P prediction, T target, D = depth_interp (interpolated dense lidar),
L = lidar_single (single-scan lidar). Masks: S = L > 0.01, M = D > 0.01 and not S.
Level lists follow the models: encoder features finest first (1/2 .. 1/32), decoder
features and intermediate depths deepest first. Level i (counted as each loss says)
is weighted 2^-i: as published, i counts from the deepest level for the image features
and from the finest level for the radar features, the pair-wise decoder features (F1
weighs 1) and the intermediate depths (d2 weighs 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

# Depth maps hold 0 where no value exists; anything above this is a real target.
VALID_DEPTH = 0.01
# Keeps ratios defined when a mask is empty or both depths are 0.
EPS = 1e-7
# Added to the L2 norm of a feature vector before the pair-wise normalisation.
_NORM_EPS = 1e-8


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum(w * v) / sum(w); 0 when all weights are 0 (e.g. no lidar in the crop)."""
    return (weights * values).sum() / weights.sum().clamp_min(EPS)


def depth_uncertainty(
    target: torch.Tensor, pred: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """u(T, P) = 1 - exp(-5 |T - P| / (T + P)) where valid, else 1 (no confidence).

    0 where P matches T, approaching 1 for a large relative error.
    """
    agreement = torch.exp(-5.0 * (target - pred).abs() / (target + pred + EPS))
    return 1.0 - agreement * valid


def published_broadcast_mean(
    values: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """The published depth term at batch B > 1, reproduced on purpose (a defect upstream).

    The authors' code multiplies a B x 1 x H x W mask by a B x H x W softmax weight,
    which broadcasts to B x B x H x W: sample i's error and mask meet every sample j's
    weight, sum_ij M_i w_j |e_i| / (sum_ij M_i w_j + 1e-7 B^2 H W). At B = 1 it is the
    per-sample loss (with the 1e-7 added per pixel).
    """
    crossed = mask * weights[:, 0]  # (B, 1, H, W) * (B, H, W) -> (B, B, H, W)
    return (crossed * values).sum() / (crossed + 1e-7).sum()


def uncertainty_rectified_depth_loss(
    pred: torch.Tensor,
    depth_interp: torch.Tensor,
    lidar_single: torch.Tensor,
    published_broadcast: bool = False,
) -> torch.Tensor:
    """Dual-target L1 weighted by a softmax over the two uncertainty maps.

    u_inter = u(D, P) on M, u_single = u(L, P) on S (1 elsewhere);
    (w_inter, w_single) = softmax over the pair (u_inter, u_single) at each pixel;
    L_depth = sum(M w_inter |P - D|) / sum(M w_inter) + sum(S w_single |P - L|) / sum(S w_single),
    each sample's weights on its own pixels. `published_broadcast` reproduces the
    authors' code instead, where at batch > 1 the weights mix across samples
    (`published_broadcast_mean`).
    """
    single = (lidar_single > VALID_DEPTH).to(pred.dtype)
    inter = ((depth_interp > VALID_DEPTH) & (lidar_single <= VALID_DEPTH)).to(pred.dtype)
    uncertainties = torch.cat(
        [
            depth_uncertainty(depth_interp, pred, inter),
            depth_uncertainty(lidar_single, pred, single),
        ],
        dim=1,
    )
    w_inter, w_single = torch.softmax(uncertainties, dim=1).split(1, dim=1)
    if published_broadcast:
        return published_broadcast_mean(
            (pred - depth_interp).abs(), inter, w_inter
        ) + published_broadcast_mean((pred - lidar_single).abs(), single, w_single)
    return weighted_mean((pred - depth_interp).abs(), inter * w_inter) + weighted_mean(
        (pred - lidar_single).abs(), single * w_single
    )


def level_weights(levels: int, first_weighs_most: bool) -> list[float]:
    """2^-i along a list of `levels` maps, with i counted from its first entry when
    first_weighs_most ([1, 1/2, ...]), else from its last ([..., 1/2, 1])."""
    weights = [2.0**-i for i in range(levels)]
    return weights if first_weighs_most else weights[::-1]


def _check_levels(
    student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor], what: str
) -> None:
    if len(student) != len(teacher):
        raise ValueError(f"{what}: student has {len(student)} levels, teacher {len(teacher)}")
    for index, (s, t) in enumerate(zip(student, teacher, strict=True)):
        if s.shape != t.shape:
            raise ValueError(
                f"{what}: level {index} student {tuple(s.shape)} != teacher {tuple(t.shape)}"
            )


def pixelwise_feature_distillation(
    student_feats: Sequence[torch.Tensor],
    teacher_feats: Sequence[torch.Tensor],
    deepest_first: bool,
) -> torch.Tensor:
    """sum_i 2^-i mean|F_student_i - F_teacher_i| over finest-first feature lists.

    i counts from the deepest level when deepest_first (image features), from the
    finest otherwise (radar features).
    """
    _check_levels(student_feats, teacher_feats, "feature distillation")
    weights = level_weights(len(student_feats), first_weighs_most=not deepest_first)
    total = sum(
        w * F.l1_loss(s, t) for w, s, t in zip(weights, student_feats, teacher_feats, strict=True)
    )
    return cast(torch.Tensor, total)  # a Tensor (sum's 0 only for no levels: never passed)


def pooled_similarity(features: torch.Tensor, pool_scale: float) -> torch.Tensor:
    """B x N x N cosine similarities between the positions of a max-pooled feature map.

    The pooling window is pool_scale x the map size (at least 1, ceil mode), so N stays
    small (about (1 / pool_scale)^2) at any resolution. Each position's vector is divided
    by its L2 norm + 1e-8 with the norm detached, as published: the gradient sees the
    norm as a constant.
    """
    height, width = features.shape[-2:]
    window = (max(1, int(height * pool_scale)), max(1, int(width * pool_scale)))
    pooled = F.max_pool2d(features.float(), window, stride=window, ceil_mode=True).flatten(2)
    norm = pooled.norm(dim=1, keepdim=True) + _NORM_EPS
    vectors = pooled / norm.detach()
    return vectors.transpose(1, 2) @ vectors


def pairwise_distillation(
    student_decoder_feats: Sequence[torch.Tensor],
    teacher_decoder_feats: Sequence[torch.Tensor],
    pool_scale: float = 0.2,
) -> torch.Tensor:
    """sum_i 2^-i sum((S_T - S_S)^2) / N^2 / B over deepest-first decoder features, i
    counted from the finest level (the last, F1, weighs 1), with S the N x N similarity
    matrix of `pooled_similarity`. Channel counts may differ."""
    if len(student_decoder_feats) != len(teacher_decoder_feats):
        raise ValueError(
            f"pairwise distillation: student has {len(student_decoder_feats)} levels, "
            f"teacher {len(teacher_decoder_feats)}"
        )
    weights = level_weights(len(student_decoder_feats), first_weighs_most=False)
    total = student_decoder_feats[0].new_zeros(())
    pairs = zip(weights, student_decoder_feats, teacher_decoder_feats, strict=True)
    for i, (weight, s, t) in enumerate(pairs):
        if s.shape[0] != t.shape[0] or s.shape[-2:] != t.shape[-2:]:
            raise ValueError(
                f"pairwise distillation: level {i} student {tuple(s.shape)} vs teacher {tuple(t.shape)}"
            )
        sim_s, sim_t = pooled_similarity(s, pool_scale), pooled_similarity(t, pool_scale)
        positions = sim_s.shape[-1]
        total = total + weight * ((sim_t - sim_s) ** 2).sum() / positions**2 / s.shape[0]
    return total


def inter_depth_distillation(
    student_inter: Sequence[torch.Tensor],
    teacher_inter: Sequence[torch.Tensor],
    mask_M: torch.Tensor,
) -> torch.Tensor:
    """sum_i 2^-i sum(M u_i |d_S - d_T|) / sum(M u_i) over deepest-first depths [d8, d4,
    d2], i counted from the finest (d2 weighs 1, d8 1/4), with u_i = u(d_T, d_S) where
    d_T > 0.01 (else 1): pixels where the student is far from the teacher weigh more."""
    _check_levels(student_inter, teacher_inter, "inter-depth distillation")
    mask = mask_M.to(student_inter[0].dtype)
    weights = level_weights(len(student_inter), first_weighs_most=False)
    total = student_inter[0].new_zeros(())
    for weight, d_s, d_t in zip(weights, student_inter, teacher_inter, strict=True):
        uncertainty = depth_uncertainty(d_t, d_s, (d_t > VALID_DEPTH).to(d_s.dtype))
        total = total + weight * weighted_mean((d_s - d_t).abs(), mask * uncertainty)
    return total


def edge_aware_smoothness(depth: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """mean(exp(-mean_c |dI/dx|) |dP/dx|) + mean(exp(-mean_c |dI/dy|) |dP/dy|) with
    forward differences: depth may jump where the image has an edge."""
    depth_dx = (depth[..., :, :-1] - depth[..., :, 1:]).abs()
    depth_dy = (depth[..., :-1, :] - depth[..., 1:, :]).abs()
    image_dx = (image[..., :, :-1] - image[..., :, 1:]).abs().mean(dim=1, keepdim=True)
    image_dy = (image[..., :-1, :] - image[..., 1:, :]).abs().mean(dim=1, keepdim=True)
    return (torch.exp(-image_dx) * depth_dx).mean() + (torch.exp(-image_dy) * depth_dy).mean()


def masked_l1(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """mean |P - T| over the valid pixels (0 when there are none)."""
    return weighted_mean((pred - target).abs(), valid.to(pred.dtype))


def masked_bce(probability: torch.Tensor, label: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """mean binary cross-entropy over the valid pixels, computed in float32 (BCE is not
    autocast-safe)."""
    with torch.autocast(device_type=probability.device.type, enabled=False):
        bce = F.binary_cross_entropy(probability.float(), label.float(), reduction="none")
        return weighted_mean(bce, valid.float())


def _require(batch: Mapping[str, torch.Tensor], *keys: str) -> None:
    missing = [key for key in keys if key not in batch]
    if missing:
        raise KeyError(f"loss batch lacks {missing}; it has {sorted(batch)}")


class TeacherLoss(nn.Module):
    """L1(P, D) on D > 0.01 + L1(P, L) on L > 0.01 + w_confidence BCE(C, assoc_label) on
    D > 0.01 + w_coarse L1(coarse, D) on D > 0.01 + w_smoothness edge-aware smoothness
    of P (the published teacher argument file sets 0.001; 0 drops the term).

    forward(teacher_out, batch) -> (total, {term: detached value as it enters the total}).
    """

    def __init__(
        self, w_coarse: float = 0.5, w_confidence: float = 1.0, w_smoothness: float = 0.001
    ) -> None:
        super().__init__()
        self.w_coarse, self.w_confidence, self.w_smoothness = w_coarse, w_confidence, w_smoothness

    def forward(
        self, teacher_out: Any, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict]:
        _require(batch, "depth_interp", "lidar_single", "assoc_label")
        dense, single = batch["depth_interp"], batch["lidar_single"]
        dense_valid = dense > VALID_DEPTH
        terms = {
            "depth_interp": masked_l1(teacher_out.depth, dense, dense_valid),
            "depth_single": masked_l1(teacher_out.depth, single, single > VALID_DEPTH),
            "confidence": self.w_confidence
            * masked_bce(teacher_out.confidence, batch["assoc_label"], dense_valid),
            "coarse_depth": self.w_coarse * masked_l1(teacher_out.coarse_depth, dense, dense_valid),
        }
        if self.w_smoothness > 0:
            _require(batch, "image")
            terms["smoothness"] = self.w_smoothness * edge_aware_smoothness(
                teacher_out.depth, batch["image"]
            )
        return _total_and_log(terms)


@dataclass
class DistillationWeights:
    """Student loss weights (defaults: the published setting); 0 switches a term off."""

    w_depth: float = 1.0
    w_image_feature_distill: float = 1.0
    w_radar_feature_distill: float = 1.0
    w_pairwise_distill: float = 1.0
    w_inter_depth_distill: float = 1.0
    w_smoothness: float = 0.001
    pool_scale: float = 0.2
    distill_start_epoch: int = 0
    # True: the authors' depth term at batch > 1, weights mixed across samples (a defect
    # kept only for exact reproduction; see `published_broadcast_mean`).
    depth_loss_broadcast: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DistillationWeights:
        """Build from a config dict, refusing keys this class does not know."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown distillation weight(s) {unknown}; known: {sorted(known)}")
        return cls(**values)


class DistillationLoss(nn.Module):
    """The student's total loss:

    w_depth L_depth + w_smoothness L_smooth
    + [epoch >= distill_start_epoch and a teacher is given]
      w_image L_pixel(image, deepest first) + w_radar L_pixel(radar, finest first)
      + w_pairwise L_pair(decoder, pool_scale) + w_inter L_inter(inter depths, M).

    forward(student_out, teacher_out or None, batch, epoch) -> (total, terms) where terms
    maps each computed term (as it enters the total, i.e. weighted) and "total" to a
    detached tensor. Teacher outputs are detached: the teacher never trains here.
    """

    def __init__(self, weights: DistillationWeights | Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if weights is None:
            weights = DistillationWeights()
        elif isinstance(weights, Mapping):
            weights = DistillationWeights.from_mapping(weights)
        self.weights = weights

    def forward(
        self,
        student_out: Any,
        teacher_out: Any | None,
        batch: Mapping[str, torch.Tensor],
        epoch: int = 0,
    ) -> tuple[torch.Tensor, dict]:
        _require(batch, "depth_interp", "lidar_single")
        w = self.weights
        dense, single = batch["depth_interp"], batch["lidar_single"]
        terms: dict[str, torch.Tensor] = {}
        if w.w_depth > 0:
            terms["depth"] = w.w_depth * uncertainty_rectified_depth_loss(
                student_out.depth, dense, single, w.depth_loss_broadcast
            )
        if w.w_smoothness > 0:
            _require(batch, "image")
            terms["smoothness"] = w.w_smoothness * edge_aware_smoothness(
                student_out.depth, batch["image"]
            )
        if teacher_out is not None and epoch >= w.distill_start_epoch:
            terms.update(self._distillation_terms(student_out, teacher_out, dense, single))
        return _total_and_log(terms)

    def _distillation_terms(
        self, student_out: Any, teacher_out: Any, dense: torch.Tensor, single: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        w, s, t = self.weights, student_out, teacher_out
        mask_m = (dense > VALID_DEPTH) & (single <= VALID_DEPTH)
        # name -> (weight, how to compute the unweighted term); weight 0 skips the work.
        candidates = {
            "image_feature_distill": (
                w.w_image_feature_distill,
                lambda: pixelwise_feature_distillation(
                    s.image_features, _detached(t.image_features), deepest_first=True
                ),
            ),
            "radar_feature_distill": (
                w.w_radar_feature_distill,
                lambda: pixelwise_feature_distillation(
                    s.radar_features, _detached(t.radar_features), deepest_first=False
                ),
            ),
            "pairwise_distill": (
                w.w_pairwise_distill,
                lambda: pairwise_distillation(
                    s.decoder_features, _detached(t.decoder_features), w.pool_scale
                ),
            ),
            "inter_depth_distill": (
                w.w_inter_depth_distill,
                lambda: inter_depth_distillation(s.inter_depths, _detached(t.inter_depths), mask_m),
            ),
        }
        return {
            name: weight * compute() for name, (weight, compute) in candidates.items() if weight > 0
        }


def _detached(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [tensor.detach() for tensor in tensors]


def _total_and_log(terms: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    if not terms:
        raise ValueError("every loss weight is 0: nothing to optimise")
    total = torch.stack([value.float() for value in terms.values()]).sum()
    log = {name: value.detach() for name, value in terms.items()}
    log["total"] = total.detach()
    return total, log
