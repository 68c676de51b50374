"""The fast inference form computes the student's depth from the same weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lircdepth.models import LiRCDepth
from lircdepth.models.fast_student import optimize_for_inference, transposed_to_conv

torch.set_num_threads(2)


def _trained_looking_student() -> LiRCDepth:
    """Random weights plus non-trivial batch-norm statistics, so folding is really exercised."""
    torch.manual_seed(0)
    model = LiRCDepth().eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model


def _inputs(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(1, 3, height, width, generator=generator), torch.randn(
        1, 4, height, width, generator=generator
    )


@pytest.mark.parametrize(
    "conv_t",
    [
        nn.ConvTranspose2d(6, 6, 3, stride=1, padding=1, groups=6, bias=False),
        nn.ConvTranspose2d(6, 6, 3, stride=2, padding=1, output_padding=1, groups=6, bias=False),
        nn.ConvTranspose2d(5, 3, 3, stride=2, padding=1, output_padding=1),
        nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        nn.ConvTranspose2d(8, 3, 1, bias=False),
    ],
    ids=["depthwise-s1", "depthwise-s2", "dense-s2-bias", "grouped-s2", "pointwise"],
)
def test_transposed_conv_equals_its_conv_form(conv_t):
    torch.manual_seed(0)
    x = torch.randn(2, conv_t.in_channels, 7, 9)
    with torch.no_grad():
        torch.testing.assert_close(transposed_to_conv(conv_t)(x), conv_t(x), rtol=1e-5, atol=1e-5)


def test_unsupported_transposed_conv_is_refused():
    with pytest.raises(NotImplementedError):
        transposed_to_conv(nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1))


def test_fast_form_has_no_transposed_conv_or_batchnorm():
    fast = optimize_for_inference(LiRCDepth())
    kinds = {type(m) for m in fast.modules()}
    assert nn.ConvTranspose2d not in kinds and nn.BatchNorm2d not in kinds


def test_fast_form_equals_predict_and_leaves_the_model_alone():
    model = _trained_looking_student()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = optimize_for_inference(model)
    image, radar = _inputs(128, 192)
    expected = model.predict(image, radar)
    with torch.inference_mode():
        got = fast(image, radar)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)  # metres, out of 100
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())


@pytest.mark.slow
def test_fast_form_equals_predict_at_evaluation_size():
    model = _trained_looking_student()
    image, radar = _inputs(896, 1600)
    expected = model.predict(image, radar)
    with torch.inference_mode():
        got = optimize_for_inference(model)(image, radar)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)


def test_fast_form_exports_to_onnx(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    model = _trained_looking_student()
    fast = optimize_for_inference(model)
    image, radar = _inputs(64, 96)
    path = tmp_path / "student.onnx"
    torch.onnx.export(
        fast,
        (image, radar),
        str(path),
        input_names=["image", "radar"],
        output_names=["depth"],
        dynamo=False,
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (depth,) = session.run(None, {"image": image.numpy(), "radar": radar.numpy()})
    torch.testing.assert_close(
        torch.from_numpy(depth), model.predict(image, radar), rtol=1e-4, atol=1e-3
    )
