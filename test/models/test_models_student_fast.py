"""The fast inference form computes the student's depth from the same weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lircdepth.bench.models import measure_interleaved
from lircdepth.models import LiRCDepth
from lircdepth.models.cpu_memory import retain_freed_memory
from lircdepth.models.fast_student import (
    fold_into_transposed,
    optimize_for_inference,
    transposed_to_conv,
)

torch.set_num_threads(2)


def _trained_looking_student() -> LiRCDepth:
    """Random weights plus non-trivial batch-norm statistics, so folding is really exercised."""
    torch.manual_seed(0)
    model = LiRCDepth().eval()
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            model.set_submodule(name, _random_norm(module.num_features))
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
        nn.ConvTranspose2d(5, 3, 3, stride=1, padding=1),
        nn.ConvTranspose2d(4, 6, 3, stride=1, padding=0, groups=2),
        nn.ConvTranspose2d(8, 3, 1, bias=False),
    ],
    ids=["depthwise", "dense-bias", "grouped-unpadded", "pointwise"],
)
def test_stride1_transposed_conv_equals_its_conv_form(conv_t):
    torch.manual_seed(0)
    x = torch.randn(2, conv_t.in_channels, 7, 9)
    with torch.no_grad():
        torch.testing.assert_close(transposed_to_conv(conv_t)(x), conv_t(x), rtol=1e-5, atol=1e-5)


def test_strided_transposed_conv_is_refused():
    with pytest.raises(NotImplementedError, match="stride-1"):
        transposed_to_conv(nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1))


def _random_norm(channels: int) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(channels).eval()
    norm.running_mean.uniform_(-0.5, 0.5)
    norm.running_var.uniform_(0.5, 2.0)
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.uniform_(-0.2, 0.2)
    return norm


@pytest.mark.parametrize(
    ("conv_t", "channels"),
    [
        (nn.ConvTranspose2d(6, 6, 3, 2, 1, output_padding=1, groups=6, bias=False), 6),
        (nn.ConvTranspose2d(4, 6, 3, 2, 1, output_padding=1, groups=2), 6),
        (nn.ConvTranspose2d(5, 3, 3, 2, 1, output_padding=1, bias=False), 3),
    ],
    ids=["depthwise", "grouped-bias", "dense"],
)
def test_batchnorm_folds_into_transposed_conv(conv_t, channels):
    torch.manual_seed(0)
    norm = _random_norm(channels)
    x = torch.randn(2, conv_t.in_channels, 5, 6)
    with torch.no_grad():
        torch.testing.assert_close(
            fold_into_transposed(conv_t, norm)(x), norm(conv_t(x)), rtol=1e-5, atol=1e-5
        )


def test_fast_form_has_no_batchnorm_and_only_strided_transposed_convs():
    fast = optimize_for_inference(LiRCDepth(), retain_memory=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    transposed = [m for m in fast.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(transposed) == 5 and all(m.stride == (2, 2) for m in transposed)


def test_retaining_freed_memory_is_accepted_by_glibc():
    assert retain_freed_memory()


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


def test_benchmark_workers_take_turns_and_report():
    results = measure_interleaved(["lircdepth", "lircdepth-fast"], 64, 64, runs=2, threads=1)
    for result in results.values():
        assert len(result["runs"]) == 2 and result["seconds"] > 0 and result["peak_mib"] >= 0
