"""Calibration inputs for int8 quantisation: network inputs from frames of a prepared dataset.

The frames are read with `RadarCameraDataset` in eval mode (the stored image and radar
points, uncropped) and turned into network inputs by the estimator's own preprocessing,
so the quantiser sees exactly what the deployed network will see.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lircdepth.inference import preprocess

# 64 calibration frames: where int8's per-pixel changes stop shrinking (docs/experiments.md,
# "The OpenVINO int8 recipe").
DEFAULT_FRAMES = 64
DEFAULT_SPLIT = "train"


def dataset_frames(
    root: str | Path, split: str = DEFAULT_SPLIT, frames: int = DEFAULT_FRAMES
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to `frames` (uint8 H x W x 3 image, N x 6 radar points) pairs spread over a split."""
    from lircdepth.data.dataset import RADAR_MAP_COLUMNS, RadarCameraDataset

    root = Path(root)
    index = root / "index" / f"{split}.txt"
    if not index.is_file():
        raise FileNotFoundError(f"calibration data: no prepared split index {index}")
    dataset = RadarCameraDataset(root, split, mode="eval")
    if len(dataset) == 0:
        raise ValueError(f"calibration data: split {split!r} of {root} is empty")
    picks = np.unique(np.linspace(0, len(dataset) - 1, min(frames, len(dataset))).round())
    loaded = [dataset.load(int(i)) for i in picks]
    return [(sample["image"], sample["radar_points"][:, :RADAR_MAP_COLUMNS]) for sample in loaded]


def network_inputs(
    frames: list[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(3 x h x w image, 4 x h x w radar) float32 network inputs, one pair per frame."""
    inputs = []
    for image, points in frames:
        layout = preprocess.plan_layout(*image.shape[:2])
        tensor = preprocess.image_tensor(
            [preprocess.check_image(image)], layout, torch.device("cpu")
        )
        radar = preprocess.radar_map(preprocess.radar_points_from_inputs(points), layout)
        inputs.append((tensor[0].numpy(), radar.numpy()))
    return inputs


def calibration_inputs(
    source: str | Path | list[tuple[np.ndarray, np.ndarray]],
    split: str = DEFAULT_SPLIT,
    frames: int = DEFAULT_FRAMES,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Network inputs from a prepared dataset folder, or from (image, radar points) frames."""
    if isinstance(source, (str, Path)):
        source = dataset_frames(source, split, frames)
    return network_inputs(list(source))
