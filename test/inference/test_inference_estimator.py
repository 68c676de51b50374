"""DepthEstimator on a real (randomly initialised) student checkpoint: shapes, backends agree,
radar input forms agree, batches equal singles, the fast form equals the reference model."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from lircdepth.inference import BackendUnavailableError, DepthEstimator
from lircdepth.inference.backends import choose_providers, import_onnxruntime
from lircdepth.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD
from lircdepth.models.checkpoint import load_model
from lircdepth.models.fast_student import FastStudent

# A size divisible by nothing useful: 4 rows dropped, 14 columns padded.
ODD_HEIGHT, ODD_WIDTH = 100, 146
# Random weights and a different kernel order (folded batch norm, ONNX Runtime): agreement
# to a millimetre at 100 m range is far tighter than any real error.
TOLERANCE_M = 1e-3


def make_frame(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    n = 60
    points = np.column_stack(
        [
            rng.uniform(0, width, n),
            rng.uniform(0, height, n),
            rng.uniform(0.5, 60, n),
            rng.normal(size=(n, 3)),
        ]
    )
    return image, points


@pytest.fixture(scope="module")
def estimator(student_checkpoint) -> DepthEstimator:
    return DepthEstimator.from_checkpoint(student_checkpoint, device="cpu", backend="torch")


@pytest.fixture(scope="module")
def odd_frame() -> tuple[np.ndarray, np.ndarray]:
    return make_frame(ODD_HEIGHT, ODD_WIDTH, seed=1)


@pytest.fixture(scope="module")
def odd_result(estimator, odd_frame):
    return estimator.estimate(*odd_frame)


def test_depth_is_full_size_float32_metres(estimator, odd_result):
    depth = odd_result.depth
    assert depth.shape == (ODD_HEIGHT, ODD_WIDTH) and depth.dtype == np.float32
    assert np.isfinite(depth).all() and (depth >= 0).all() and (depth <= estimator.max_depth).all()
    np.testing.assert_array_equal(depth[:4], np.broadcast_to(depth[4], (4, ODD_WIDTH)))
    assert odd_result.uncertainty is None  # the student has no confidence output
    assert set(odd_result.timings) == {"preprocess", "model", "postprocess"}
    assert estimator.backend == "torch" and estimator.device == torch.device("cpu")


def reference_inputs(image: np.ndarray, points: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The network input built independently: drop top rows, normalise, pad right (edge / zero)."""
    from lircdepth.geometry import rasterize_radar

    crop, pad = image.shape[0] % 32, -image.shape[1] % 32
    rgb = (image[crop:] / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    rgb = np.pad(rgb, ((0, 0), (0, pad), (0, 0)), mode="edge").transpose(2, 0, 1)
    radar = np.pad(rasterize_radar(points, *image.shape[:2])[:, crop:], ((0, 0), (0, 0), (0, pad)))
    return torch.from_numpy(rgb[None]).float(), torch.from_numpy(radar[None])


def test_fast_form_is_default_and_equals_reference_predict(
    estimator, student_checkpoint, odd_frame, odd_result
):
    assert isinstance(estimator.backend_impl.net.network, FastStudent)
    model, _ = load_model(student_checkpoint, "cpu")
    with torch.inference_mode():
        reference = model.predict(*reference_inputs(*odd_frame))[0, 0].numpy()
    np.testing.assert_allclose(odd_result.depth[4:], reference[:, :ODD_WIDTH], atol=TOLERANCE_M)


def test_onnxruntime_backend_gives_the_same_depth(student_checkpoint, odd_frame, odd_result):
    onnx_estimator = DepthEstimator.from_checkpoint(student_checkpoint, backend="onnxruntime")
    assert onnx_estimator.backend == "onnxruntime"
    np.testing.assert_allclose(
        onnx_estimator.estimate(*odd_frame).depth, odd_result.depth, atol=TOLERANCE_M
    )


@pytest.mark.slow
def test_compiled_backend_gives_the_same_depth(student_checkpoint, odd_frame, odd_result):
    compiled = DepthEstimator.from_checkpoint(student_checkpoint, device="cpu", backend="compile")
    try:
        depth = compiled.estimate(*odd_frame).depth
    except Exception as error:  # inductor needs a working C++ toolchain
        pytest.skip(f"torch.compile does not work here: {type(error).__name__}: {error}")
    np.testing.assert_allclose(depth, odd_result.depth, atol=TOLERANCE_M)


def test_camera_frame_points_equal_pre_projected(estimator, odd_frame):
    image, _ = odd_frame
    rng = np.random.default_rng(2)
    points_cam = np.column_stack(
        [rng.uniform(-8, 8, 40), rng.uniform(-1, 2, 40), rng.uniform(3, 50, 40)]
    )
    features = rng.normal(size=(40, 3))
    k = np.array([[120.0, 0.0, 73.0], [0.0, 120.0, 50.0], [0.0, 0.0, 1.0]])
    uv = points_cam @ k.T
    projected = np.column_stack([uv[:, :2] / uv[:, 2:], points_cam[:, 2], features])
    from_cam = estimator.estimate(image, points_cam=points_cam, features=features, camera_matrix=k)
    np.testing.assert_array_equal(from_cam.depth, estimator.estimate(image, projected).depth)


def test_radar_changes_the_depth(estimator, odd_frame, odd_result):
    image, _ = odd_frame
    without_radar = estimator.estimate(image, np.zeros((0, 6))).depth
    assert np.abs(without_radar - odd_result.depth).max() > 1e-4


def test_batch_equals_single_calls(estimator, odd_frame, odd_result):
    other = make_frame(ODD_HEIGHT, ODD_WIDTH, seed=3)
    small = make_frame(64, 96, seed=4)
    batch = estimator.estimate_batch([odd_frame, small, other])
    singles = [odd_result, estimator.estimate(*small), estimator.estimate(*other)]
    for batched, single in zip(batch, singles, strict=True):
        np.testing.assert_allclose(batched.depth, single.depth, atol=TOLERANCE_M)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        DepthEstimator.from_checkpoint(tmp_path / "nothing.pt")


def test_unknown_backend_is_a_clear_error(student_checkpoint):
    with pytest.raises(ValueError, match="backend must be one of"):
        DepthEstimator.from_checkpoint(student_checkpoint, backend="tensorflow")


def test_missing_onnxruntime_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(
        sys.modules, "onnxruntime", None
    )  # what an absent package looks like to import
    with pytest.raises(BackendUnavailableError, match="pip install onnxruntime"):
        import_onnxruntime()


def test_missing_execution_provider_is_a_clear_error():
    with pytest.raises(BackendUnavailableError, match="TensorrtExecutionProvider"):
        choose_providers(["CPUExecutionProvider"], ["TensorrtExecutionProvider"])
    assert choose_providers(["CPUExecutionProvider", "CUDAExecutionProvider"], None) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_absent_cuda_is_a_clear_error(student_checkpoint):
    with pytest.raises(BackendUnavailableError, match="CUDA is not available"):
        DepthEstimator.from_checkpoint(student_checkpoint, device="cuda")


def test_half_precision_on_cpu_is_refused(student_checkpoint):
    with pytest.raises(ValueError, match="only supported on CUDA"):
        DepthEstimator.from_checkpoint(
            student_checkpoint, device="cpu", backend="torch", dtype="fp16"
        )
