"""LiRCDepth: output structure, gradients, parameter counts, predict(), input checks."""

from __future__ import annotations

import pytest
import torch

from lircdepth.models import LiRCDepth, StudentOutput, build_model

torch.set_num_threads(2)


def _inputs(batch: int, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, height, width, generator=generator), torch.randn(
        batch, 4, height, width, generator=generator
    )


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _check_output_shapes(out: StudentOutput, batch: int, height: int, width: int) -> None:
    assert isinstance(out, StudentOutput)
    decoder_shapes = [(512, 16), (128, 8), (128, 4), (64, 2), (32, 1)]
    assert [tuple(f.shape) for f in out.decoder_features] == [
        (batch, c, height // s, width // s) for c, s in decoder_shapes
    ]
    strides = (2, 4, 8, 16, 32)
    assert [tuple(f.shape) for f in out.image_features] == [
        (batch, c, height // s, width // s)
        for c, s in zip((64, 64, 128, 256, 512), strides, strict=True)
    ]
    assert [tuple(f.shape) for f in out.radar_features] == [
        (batch, c, height // s, width // s)
        for c, s in zip((64, 128, 128, 512, 512), strides, strict=True)
    ]
    assert [tuple(d.shape) for d in out.inter_depths] == [(batch, 1, height, width)] * 3
    assert out.depth.shape == (batch, 1, height, width)
    tensors = [
        *out.decoder_features,
        *out.image_features,
        *out.radar_features,
        *out.inter_depths,
        out.depth,
    ]
    assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in tensors)
    assert (out.depth > 0).all() and (out.depth < 100.0).all()
    assert all((d >= 0).all() for d in out.inter_depths)


def test_output_shapes_at_training_crop():
    torch.manual_seed(0)
    model = LiRCDepth().eval()
    with torch.no_grad():
        _check_output_shapes(model(*_inputs(2, 352, 704)), 2, 352, 704)


@pytest.mark.slow
def test_output_shapes_at_evaluation_size():
    torch.manual_seed(0)
    model = LiRCDepth().eval()
    with torch.no_grad():
        _check_output_shapes(model(*_inputs(1, 896, 1600)), 1, 896, 1600)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = LiRCDepth().train()
    out = model(*_inputs(2, 64, 64))
    terms = [
        *out.decoder_features,
        *out.image_features,
        *out.radar_features,
        *out.inter_depths,
        out.depth,
    ]
    sum(t.mean() for t in terms).backward()
    without_grad = [
        name
        for name, p in model.named_parameters()
        if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert without_grad == []
    assert all(
        p.grad.abs().sum() > 0 for name, p in model.named_parameters() if "depth_head" in name
    )


def test_depth_only_loss_reaches_every_parameter():
    """Everything the student builds is on the path to the final depth (nothing dead)."""
    torch.manual_seed(0)
    model = LiRCDepth().train()
    model(*_inputs(2, 64, 64)).depth.mean().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []


def test_parameter_counts_of_the_encoders_match_the_reference():
    model = LiRCDepth()
    assert _count(model.image_encoder) == 2_902_272
    assert _count(model.radar_encoder) == 2_920_300


def test_total_parameter_count_matches_the_reference_definition():
    """The reference builds both encoders from `mobilenet_v2().features`, so it holds no
    classifier heads: its 12,645,228 parameters (method.md section 6, by part) are all
    used. (method.md's "10,083,228 without heads" subtracts heads the reference never had.)
    """
    model = LiRCDepth()
    assert _count(model.decoder) == 6_822_656
    assert _count(model) == 12_645_228


def test_no_unused_classifier_heads_are_kept():
    names = [name for name, _ in LiRCDepth().named_modules()]
    assert not any("classifier" in name for name in names)


def test_predict_equals_forward_depth():
    torch.manual_seed(0)
    model = build_model("lircdepth", max_depth=80.0).eval()
    image, radar = _inputs(1, 96, 128)
    with torch.no_grad():
        expected = model(image, radar).depth
    predicted = model.predict(image, radar)
    assert not predicted.requires_grad
    torch.testing.assert_close(predicted, expected, rtol=0, atol=0)
    assert predicted.max() < 80.0


def test_without_feature_distillation_the_raw_taps_are_returned():
    torch.manual_seed(0)
    model = LiRCDepth(feature_distill=False).eval()
    with torch.no_grad():
        out = model(*_inputs(1, 64, 64))
    assert [f.shape[1] for f in out.image_features] == [16, 24, 32, 64, 1280]
    assert out.depth.shape == (1, 1, 64, 64)


def test_without_feature_distillation_radar_is_added_directly():
    """The authors' no-distillation network: no fusion convs, 17,359,100 parameters (the
    1/32 taps stay 1280 wide, so its decoder is larger than the distilled one's)."""
    torch.manual_seed(0)
    model = LiRCDepth(feature_distill=False).eval()
    assert _count(model) == 17_359_100
    assert _count(model.decoder) == 12_911_248
    assert not any("fusion" in key for key in model.state_dict())
    fused = {}
    hook = model.decoder.stage5.register_forward_pre_hook(lambda m, i: fused.update(s5=i[0]))
    with torch.no_grad():
        out = model(*_inputs(1, 64, 64))
    hook.remove()
    assert torch.equal(fused["s5"], out.image_features[4] + out.radar_features[4])


def test_distilled_network_keeps_its_state_dict_layout():
    """Keys and shapes of the published-setting student, pinned (importers map onto them)."""
    import hashlib

    state = LiRCDepth().state_dict()
    layout = "\n".join(f"{k} {'x'.join(map(str, v.shape))}" for k, v in state.items())
    assert len(state) == 935
    digest = hashlib.sha256(layout.encode()).hexdigest()
    assert digest == "0bd40077ece52d5ea46c648982144f3fbfe1e1eba8decbc6738bc249c4399c1b"


def test_decoder_starts_xavier_initialised(assert_xavier_uniform):
    """As published: xavier-uniform Conv2d weights in the decoder (transposed convs keep
    torch's default, the encoders theirs)."""
    torch.manual_seed(0)
    model = LiRCDepth()
    assert assert_xavier_uniform(model.decoder) == 5 + 16 + 6
    assert assert_xavier_uniform(LiRCDepth(feature_distill=False).decoder) == 16 + 6


@pytest.mark.parametrize(
    ("image_shape", "radar_shape", "message"),
    [
        ((1, 3, 64, 80), (1, 4, 64, 80), "divisible by 32"),
        ((1, 3, 64, 64), (1, 4, 32, 64), "does not match"),
        ((1, 1, 64, 64), (1, 4, 64, 64), "B x 3"),
    ],
)
def test_bad_input_shapes_are_refused(image_shape, radar_shape, message):
    with pytest.raises(ValueError, match=message):
        LiRCDepth()(torch.zeros(image_shape), torch.zeros(radar_shape))


def test_unknown_arch_and_bad_config_are_refused():
    with pytest.raises(ValueError, match="unknown model arch"):
        build_model("resnet")
    with pytest.raises(ValueError, match="bad model_config"):
        build_model("lircdepth", no_such_option=1)


def test_pretrained_weights_offline_give_a_clear_error(tmp_path, monkeypatch):
    """Offline and uncached: RuntimeError naming the expected cache file (or success when online)."""
    from lircdepth.models.pretrained import mobilenet_v2_backbone

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    try:
        backbone = mobilenet_v2_backbone(pretrained=True)
    except RuntimeError as error:
        assert "mobilenet_v2" in str(error) and str(tmp_path) in str(error)
    else:
        assert len(backbone) == 19
