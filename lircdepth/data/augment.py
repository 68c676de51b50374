"""Crop, flip and photometric augmentation, applied identically to every map of a sample.

Random draws use torch's global generator, which DataLoader seeds differently in each
worker (numpy's global state would be copied into every worker unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# Method: with p = 0.5 the image gets all three photometric changes (one coin), each
# factor uniform in [0.9, 1.1].
PHOTOMETRIC_PROBABILITY = 0.5
PHOTOMETRIC_RANGE = (0.9, 1.1)
FLIP_PROBABILITY = 0.5
# Evaluation drops the top rows so the height is divisible by the network's stride.
NETWORK_STRIDE = 32


@dataclass(frozen=True)
class Window:
    """A crop: top-left corner and size in pixels."""

    top: int
    left: int
    height: int
    width: int

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Crop the first two axes (H x W or H x W x C)."""
        return image[self.top : self.top + self.height, self.left : self.left + self.width]


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def _chance(probability: float) -> bool:
    return float(torch.rand(())) < probability


def random_window(height: int, width: int, crop: tuple[int, int]) -> Window:
    crop_h, crop_w = crop
    if crop_h > height or crop_w > width:
        raise ValueError(f"crop {crop_h}x{crop_w} is larger than the image {height}x{width}")
    top = int(torch.randint(0, height - crop_h + 1, ()))
    left = int(torch.randint(0, width - crop_w + 1, ()))
    return Window(top, left, crop_h, crop_w)


def evaluation_window(height: int, width: int) -> Window:
    """The full image without its top `height mod 32` rows (900 -> 896)."""
    top = height % NETWORK_STRIDE
    return Window(top, 0, height - top, width)


def draw_flip() -> bool:
    return _chance(FLIP_PROBABILITY)


def move_camera_matrix(camera_matrix: np.ndarray, window: Window, flip: bool) -> np.ndarray:
    """Intrinsics of the cropped (and mirrored) image: the principal point moves."""
    moved = np.array(camera_matrix, dtype=np.float64, copy=True)
    moved[0, 2] -= window.left
    moved[1, 2] -= window.top
    if flip:
        moved[0, 2] = window.width - 1 - moved[0, 2]
    return moved


def photometric(image: np.ndarray) -> np.ndarray:
    """With p 0.5: gamma, brightness and per-channel colour gains, all three; clipped to [0, 1].

    `image` is H x W x 3 float in [0, 1]. One coin decides, as in the published code.
    """
    if not _chance(PHOTOMETRIC_PROBABILITY):
        return image
    image = image ** _uniform(*PHOTOMETRIC_RANGE)
    image = image * _uniform(*PHOTOMETRIC_RANGE)
    image = image * np.array([_uniform(*PHOTOMETRIC_RANGE) for _ in range(3)])
    return np.clip(image, 0.0, 1.0)
