"""The teacher through DepthEstimator: uncertainty = 1 - radar confidence, at the input size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lircdepth.inference import DepthEstimator


@pytest.fixture(scope="module")
def teacher_checkpoint(module_tmp_path):
    from lircdepth.models import build_model
    from lircdepth.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    path = module_tmp_path / "teacher.pt"
    save_checkpoint(
        path, {"arch": "cafnet", "model_config": {}, "model": build_model("cafnet").state_dict()}
    )
    return path


def test_teacher_uncertainty_is_one_minus_confidence(teacher_checkpoint):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (70, 96, 3), dtype=np.uint8)  # 6 top rows dropped
    points = np.column_stack(
        [
            rng.uniform(0, 96, 40),
            rng.uniform(0, 70, 40),
            rng.uniform(2, 60, 40),
            rng.normal(size=(40, 3)),
        ]
    )
    estimator = DepthEstimator.from_checkpoint(teacher_checkpoint, device="cpu", backend="torch")
    result = estimator.estimate(image, points)
    assert result.depth.shape == result.uncertainty.shape == (70, 96)
    assert result.uncertainty.dtype == np.float32
    np.testing.assert_array_equal(result.uncertainty[:6], 1.0)

    from lircdepth.inference.preprocess import image_tensor, plan_layout, radar_map

    layout = plan_layout(70, 96)
    model = estimator.backend_impl.net.network
    with torch.inference_mode():
        output = model(
            image_tensor([image], layout, torch.device("cpu")), radar_map(points, layout)[None]
        )
    np.testing.assert_allclose(
        result.uncertainty[6:], 1 - output.confidence[0, 0].numpy(), atol=1e-5
    )
    np.testing.assert_allclose(result.depth[6:], output.depth[0, 0].numpy(), atol=1e-3)
