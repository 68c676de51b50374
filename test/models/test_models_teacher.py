"""CaFNet (teacher): sizes per part, output shapes, gradient flow, building blocks."""

from __future__ import annotations

import math

import pytest
import torch

from lircdepth.models.bts_decoder import local_planar_guidance
from lircdepth.models.resnet_encoders import build_torchvision_resnet
from lircdepth.models.sparse_conv import SparseConv
from lircdepth.models.teacher import CaFNet, TeacherOutput

RESNET_FC_PARAMS = 512 * 1000 + 1000  # the ImageNet head each torchvision ResNet carries

# method.md section 6: the reference definition, counted with its unused fc heads.
REFERENCE_PARTS = {
    "image_encoder": (21_797_672, 1),
    "radar_encoder_stage1": (11_701_927, 1),
    "radar_decoder": (4_360_768, 0),
    "radar_encoder_stage2": (11_689_647, 1),
    "decoder": (12_698_672, 0),
}


@pytest.fixture(scope="module")
def teacher() -> CaFNet:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    return CaFNet()


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def sparse_radar(batch: int, height: int, width: int, points: int = 40) -> torch.Tensor:
    """A radar map with a few returns: depth 2-60 m, rcs, vx, vy; zero elsewhere."""
    generator = torch.Generator().manual_seed(1)
    radar = torch.zeros(batch, 4, height, width)
    for b in range(batch):
        rows = torch.randint(1, height - 1, (points,), generator=generator)
        cols = torch.randint(1, width - 1, (points,), generator=generator)
        radar[b, 0, rows, cols] = 2 + 58 * torch.rand(points, generator=generator)
        radar[b, 1:, rows, cols] = torch.randn(3, points, generator=generator)
    return radar


def test_parameter_counts_match_the_reference_per_part(teacher):
    for part, (reference, resnets) in REFERENCE_PARTS.items():
        assert count(getattr(teacher, part)) + resnets * RESNET_FC_PARAMS == reference, part
    assert count(teacher) == 60_709_686
    assert count(teacher) + 3 * RESNET_FC_PARAMS == 62_248_686
    assert not any(".fc." in name for name in teacher.state_dict())


def check_output(
    out: TeacherOutput, batch: int, height: int, width: int, max_depth: float = 100.0
) -> None:
    def shapes(tensors):
        return [tuple(t.shape) for t in tensors]

    def level(channels, stride):
        return (batch, channels, height // stride, width // stride)

    assert shapes(out.decoder_features) == [
        level(512, 16),
        level(128, 8),
        level(128, 4),
        level(64, 2),
        level(32, 1),
    ]
    assert shapes(out.image_features) == [
        level(64, 2),
        level(64, 4),
        level(128, 8),
        level(256, 16),
        level(512, 32),
    ]
    assert shapes(out.radar_features) == [
        level(64, 2),
        level(128, 4),
        level(128, 8),
        level(512, 16),
        level(512, 32),
    ]
    assert shapes(out.inter_depths) == [level(1, 1)] * 3
    for full_size in (out.depth, out.confidence, out.coarse_depth):
        assert full_size.shape == level(1, 1)
    every = [*out.decoder_features, *out.image_features, *out.radar_features, *out.inter_depths]
    for tensor in [*every, out.depth, out.confidence, out.coarse_depth]:
        assert tensor.dtype == torch.float32
        assert torch.isfinite(tensor).all()
    # Untrained batch-norm statistics in eval mode can saturate the sigmoid at a pixel.
    assert out.depth.min() >= 0 and out.depth.max() <= max_depth
    assert out.confidence.min() >= 0 and out.confidence.max() <= 1
    assert out.coarse_depth.min() >= 0 and out.coarse_depth.max() <= max_depth


def test_output_shapes_at_training_crop(teacher):
    teacher.eval()
    with torch.inference_mode():
        out = teacher(torch.randn(1, 3, 352, 704), sparse_radar(1, 352, 704))
    check_output(out, 1, 352, 704)


@pytest.mark.slow
def test_output_shapes_at_evaluation_size(teacher):
    teacher.eval()
    with torch.inference_mode():
        out = teacher(torch.randn(1, 3, 896, 1600), sparse_radar(1, 896, 1600))
    check_output(out, 1, 896, 1600)


def test_gradients_reach_every_trainable_parameter(teacher):
    from lircdepth.losses import TeacherLoss

    teacher.train()
    teacher.zero_grad(set_to_none=True)
    height, width = 64, 128
    torch.manual_seed(2)
    target = 5 + 40 * torch.rand(2, 1, height, width)
    image = torch.randn(2, 3, height, width)
    batch = {
        "image": image,
        "depth_interp": target,
        "lidar_single": target * (torch.rand_like(target) > 0.9),
        "assoc_label": (torch.rand_like(target) > 0.5).float(),
    }
    out = teacher(image, sparse_radar(2, height, width))
    total, _ = TeacherLoss()(out, batch)
    total.backward()
    frozen = [name for name, p in teacher.named_parameters() if not p.requires_grad]
    assert frozen == [f"radar_encoder_stage1.sparse.layers.{i}.mask_kernel" for i in range(4)]
    silent = [
        name
        for name, p in teacher.named_parameters()
        if p.requires_grad
        and (p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0)
    ]
    assert silent == []
    teacher.zero_grad(set_to_none=True)


def test_f5_is_taken_before_the_gated_radar_feature(teacher):
    """As published: F5 (the pair-wise target at 1/16) is conv5's output; the gated 1/16
    radar feature g4 is added only on the way to 1/8."""
    seen = {}
    decoder = teacher.decoder
    hooks = [
        decoder.conv5.register_forward_hook(lambda m, i, o: seen.update(conv5=o)),
        decoder.upconv4.register_forward_pre_hook(lambda m, i: seen.update(upconv4_in=i[0])),
    ]
    teacher.eval()
    try:
        with torch.inference_mode():
            out = teacher(torch.randn(1, 3, 64, 64), sparse_radar(1, 64, 64))
    finally:
        for hook in hooks:
            hook.remove()
    g4 = out.radar_features[3]
    assert g4.abs().max() > 0
    assert torch.equal(out.decoder_features[0], seen["conv5"])
    assert torch.equal(seen["upconv4_in"], seen["conv5"] + g4)


def test_batch_norm_eps_as_published(teacher):
    """BTS norms use eps 1.1e-5 except the five inside the dense-ASPP branches (1e-5)."""
    eps = {
        f"{part}.{name}": module.eps
        for part in ("decoder", "radar_decoder")
        for name, module in getattr(teacher, part).named_modules()
        if isinstance(module, torch.nn.BatchNorm2d)
    }
    inner = {f"decoder.daspp.branches.{i}.{2 if i == 0 else 3}" for i in range(5)}
    assert {name for name, value in eps.items() if value == 1e-5} == inner
    assert all(value == 1.1e-5 for name, value in eps.items() if name not in inner)
    assert len(eps) == 5 + 4 + 5 + 5  # inner, first-in-branch, bn5..bn2, radar decoder


def test_decoders_start_xavier_initialised(assert_xavier_uniform):
    torch.manual_seed(3)
    model = CaFNet()
    assert assert_xavier_uniform(model.decoder) > 40
    assert assert_xavier_uniform(model.radar_decoder) == 11


def test_built_from_a_config_dict():
    torch.manual_seed(0)
    model = CaFNet(**{"max_depth": 80.0, "confidence_threshold": 0.5}).eval()
    with torch.inference_mode():
        out = model(torch.randn(1, 3, 64, 64), sparse_radar(1, 64, 64))
    check_output(out, 1, 64, 64, max_depth=80.0)
    with pytest.raises(TypeError):
        CaFNet(**{"no_such_option": 1})


@pytest.mark.parametrize(
    ("image_shape", "radar_shape", "message"),
    [
        ((1, 3, 64, 80), (1, 4, 64, 80), "divisible by 32"),
        ((1, 3, 64, 64), (1, 5, 64, 64), "radar must be"),
        ((1, 4, 64, 64), (1, 4, 64, 64), "image must be"),
        ((1, 3, 64, 64), (2, 4, 64, 64), "does not match"),
    ],
)
def test_bad_inputs_are_named(teacher, image_shape, radar_shape, message):
    with pytest.raises(ValueError, match=message):
        teacher(torch.zeros(image_shape), torch.zeros(radar_shape))


def test_sparse_conv_averages_only_valid_pixels_and_dilates_the_mask():
    layer = SparseConv(1, 1, 3)
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
        layer.bias.fill_(0.5)
    x = torch.zeros(1, 1, 5, 5)
    mask = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2], mask[0, 0, 2, 2] = 4.0, 1.0
    x[0, 0, 2, 3], mask[0, 0, 2, 3] = 2.0, 1.0
    out, new_mask = layer(x, mask)
    # Pixel (2, 2) sees both valid pixels: (4 + 2) / 2 + 0.5 = 3.5; (1, 1) sees only the 4: 4.5.
    assert out[0, 0, 2, 2].item() == pytest.approx(3.5)
    assert out[0, 0, 1, 1].item() == pytest.approx(4.5)
    # ELU(0 / 1e-8 + 0.5) = 0.5 far from any valid pixel.
    assert out[0, 0, 0, 4].item() == pytest.approx(0.5)
    expected_mask = torch.zeros(5, 5)
    expected_mask[1:4, 1:5] = 1
    assert torch.equal(new_mask[0, 0], expected_mask)
    # Values under an invalid pixel do not matter.
    x_noisy = x.clone()
    x_noisy[0, 0, 0, 0] = 100.0
    assert torch.equal(layer(x_noisy, mask)[0], out)


def test_local_planar_guidance_by_hand():
    flat = torch.tensor([0.0, 0.0, 1.0, 7.0]).view(1, 4, 1, 1)
    assert torch.allclose(local_planar_guidance(flat, 4), torch.full((1, 1, 4, 4), 7.0))
    # Tilted plane, upratio 2: offsets u, v in {-0.25, +0.25}; depth = n4 / (n1 u + n2 v + n3).
    n1, n3 = math.sin(math.pi / 6), math.cos(math.pi / 6)
    tilted = torch.tensor([n1, 0.0, n3, 10.0]).view(1, 4, 1, 1)
    depth = local_planar_guidance(tilted, 2)[0, 0]
    left, right = 10.0 / (-0.25 * n1 + n3), 10.0 / (0.25 * n1 + n3)
    assert torch.allclose(depth, torch.tensor([[left, right], [left, right]]))


def test_pretrained_without_network_or_cache_says_so(tmp_path, monkeypatch):
    torch_hub_dir = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens: offline
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    try:
        with pytest.raises(RuntimeError, match="pretrained=False"):
            build_torchvision_resnet("resnet18", pretrained=True)
    finally:
        torch.hub.set_dir(torch_hub_dir)
