"""`lircdepth export` writes a valid ONNX model that ONNX Runtime runs at any size (or a fixed one)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from lircdepth.cli import main as lircdepth_main
from lircdepth.inference import DepthEstimator

TOLERANCE_M = 1e-3


def frame(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    points = np.column_stack(
        [
            rng.uniform(0, width, 50),
            rng.uniform(0, height, 50),
            rng.uniform(2, 60, 50),
            rng.normal(size=(50, 3)),
        ]
    )
    return image, points


@pytest.fixture(scope="module")
def torch_estimator(student_checkpoint) -> DepthEstimator:
    return DepthEstimator.from_checkpoint(student_checkpoint, device="cpu", backend="torch")


def test_dynamic_export_runs_at_two_sizes(student_checkpoint, tmp_path, torch_estimator, capsys):
    out = tmp_path / "student.onnx"
    assert (
        lircdepth_main(["export", "--checkpoint", str(student_checkpoint), "--out", str(out)]) == 0
    )
    assert "max |onnxruntime - torch|" in capsys.readouterr().out
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert {p.key: p.value for p in model.metadata_props} == {
        "arch": "lircdepth",
        "max_depth": "100.0",
    }
    estimator = DepthEstimator.from_onnx(out, providers=["CPUExecutionProvider"])
    assert estimator.max_depth == 100.0 and estimator.arch == "lircdepth"
    for height, width in [(70, 100), (130, 200)]:
        image, points = frame(height, width, seed=height)
        np.testing.assert_allclose(
            estimator.estimate(image, points).depth,
            torch_estimator.estimate(image, points).depth,
            atol=TOLERANCE_M,
        )


def test_fixed_size_export_rejects_other_sizes(student_checkpoint, tmp_path):
    out = tmp_path / "fixed.onnx"
    args = [
        "export",
        "--checkpoint",
        str(student_checkpoint),
        "--out",
        str(out),
        "--fixed-size",
        "70",
        "100",
        "--opset",
        "18",
    ]
    assert lircdepth_main(args) == 0
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 18
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, 64, 128]
    estimator = DepthEstimator.from_onnx(out)
    assert estimator.estimate(*frame(70, 100, seed=0)).depth.shape == (70, 100)
    with pytest.raises(ValueError, match="fixed input shape"):
        estimator.estimate(*frame(100, 100, seed=0))


def test_export_of_a_missing_checkpoint_fails_clearly(tmp_path, capsys):
    argv = [
        "export",
        "--checkpoint",
        str(tmp_path / "absent.pt"),
        "--out",
        str(tmp_path / "x.onnx"),
    ]
    assert lircdepth_main(argv) == 2
    assert "absent.pt" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_missing_onnx_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="ONNX model not found"):
        DepthEstimator.from_onnx(tmp_path / "none.onnx")
