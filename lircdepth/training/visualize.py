"""Colourised depth, error and input images for TensorBoard panels and evaluation PNGs.

Sparse maps (radar, single-scan lidar) are dilated so their points stay visible once
TensorBoard shrinks the picture; pixels with no value stay black.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])
SPARSE_DILATION = 5


def _hw(array) -> np.ndarray:
    """A depth map as float32 H x W numpy (accepts 1 x H x W tensors)."""
    if isinstance(array, torch.Tensor):
        array = array.detach().float().cpu().numpy()
    return np.asarray(array, dtype=np.float32).reshape(array.shape[-2:])


def colorize(values, max_value: float, sparse: bool = False) -> np.ndarray:
    """H x W values in [0, max_value] -> H x W x 3 uint8 RGB (turbo), 0 = black."""
    values = _hw(values)
    if sparse:
        values = cv2.dilate(values, np.ones((SPARSE_DILATION, SPARSE_DILATION), np.uint8))
    scaled = np.clip(values / max(max_value, 1e-6) * 255.0, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO)
    bgr[values <= 0] = 0
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def error_map(pred, gt, max_error: float = 5.0) -> np.ndarray:
    """|pred - gt| where the ground truth has a value, colourised up to `max_error` metres."""
    pred, gt = _hw(pred), _hw(gt)
    error = np.where(gt > 0, np.abs(pred - gt), 0.0).astype(np.float32)
    error[(gt > 0) & (error == 0)] = 1e-6  # a perfect pixel is still a pixel, not "no value"
    return colorize(error, max_error, sparse=True)


def denormalize_image(image) -> np.ndarray:
    """A normalised 3 x H x W network input back to H x W x 3 uint8 RGB."""
    if isinstance(image, torch.Tensor):
        image = image.detach().float().cpu().numpy()
    rgb = image.transpose(1, 2, 0) * IMAGENET_STD + IMAGENET_MEAN
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def depth_panel(image, radar, prediction, ground_truth, max_depth: float) -> np.ndarray:
    """Image, radar depth, prediction and ground truth stacked vertically (H*4 x W x 3)."""
    return np.concatenate(
        [
            denormalize_image(image),
            colorize(radar[0], max_depth, sparse=True),
            colorize(prediction, max_depth),
            colorize(ground_truth, max_depth, sparse=True),
        ],
        axis=0,
    )


def save_png(rgb: np.ndarray, path) -> None:
    """Write an RGB uint8 image (OpenCV wants BGR)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
