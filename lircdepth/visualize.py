"""The one place depth becomes colour: TensorBoard panels, evaluation and `predict` PNGs,
the node's `depth/colored`, the surround picture and the synthetic world's preview.

Convention (one for the whole project): depth on OpenCV's turbo map, **near = red, far =
blue**, over [0, max_depth] (beyond it: the far colour); no value (0) = black. Errors use the
same map ascending (small = blue, large = red), so red always means "look here".
Sparse maps (radar, single-scan lidar) are dilated so their points stay visible once
TensorBoard shrinks the picture.
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


def turbo_bgr(fraction: np.ndarray) -> np.ndarray:
    """Turbo colours (BGR uint8, shape + (3,)) of values in [0, 1]: 0 blue, 1 red."""
    fraction = np.asarray(fraction, dtype=np.float64)
    levels = (np.clip(fraction, 0.0, 1.0) * 255).astype(np.uint8).reshape(-1, 1)
    return cv2.applyColorMap(levels, cv2.COLORMAP_TURBO).reshape(*fraction.shape, 3)


def depth_bgr(depth: np.ndarray, max_depth: float) -> np.ndarray:
    """Depth colours (BGR) of maps or point vectors: near red, far blue; no black."""
    return turbo_bgr(1.0 - np.asarray(depth, dtype=np.float64) / max(max_depth, 1e-6))


def _rgb(bgr: np.ndarray, values: np.ndarray) -> np.ndarray:
    bgr[values <= 0] = 0
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _dilated(values: np.ndarray, sparse: bool) -> np.ndarray:
    if not sparse:
        return values
    return cv2.dilate(values, np.ones((SPARSE_DILATION, SPARSE_DILATION), np.uint8))


def colorize(values, max_value: float, sparse: bool = False) -> np.ndarray:
    """H x W depth in metres -> H x W x 3 uint8 RGB: near red, far blue, 0 = black."""
    values = _dilated(_hw(values), sparse)
    return _rgb(depth_bgr(values, max_value), values)


def colorize_error(values, max_value: float, sparse: bool = False) -> np.ndarray:
    """H x W errors -> RGB: small blue, `max_value` and more red, 0 (no value) black."""
    values = _dilated(_hw(values), sparse)
    return _rgb(turbo_bgr(values / max(max_value, 1e-6)), values)


def error_map(pred, gt, max_error: float = 5.0) -> np.ndarray:
    """|pred - gt| where the ground truth has a value, colourised up to `max_error` metres."""
    pred, gt = _hw(pred), _hw(gt)
    error = np.where(gt > 0, np.abs(pred - gt), 0.0).astype(np.float32)
    error[(gt > 0) & (error == 0)] = 1e-6  # a perfect pixel is still a pixel, not "no value"
    return colorize_error(error, max_error, sparse=True)


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
