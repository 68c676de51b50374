"""Densify the accumulated lidar map into the interpolated depth "D".

Method (chosen so depth is never blended across an object boundary):

1. Near-surface cleanup. Points of other keyframes can be seen "through" a nearer
   surface of this frame (the lidar saw the background from elsewhere). Within a small
   window the nearest depth is taken as the visible surface, and a point farther than
   it by more than a relative margin is dropped.
2. Nearest-sample fill. Every empty pixel takes the depth of the nearest remaining
   sample (OpenCV's exact-label distance transform), but only within a maximum
   distance, so sky and large unobserved regions stay empty (0).

Nearest-sample fill never produces a depth between two surfaces (unlike linear or
bilinear interpolation, which would create "flying pixels" at every edge): an object
boundary moves at most half the local sampling gap. Window sizes are given for the
1600-pixel-wide nuScenes image and scale with the image width.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

REFERENCE_WIDTH = 1600


@dataclass(frozen=True)
class InterpolationConfig:
    """Sizes in pixels at 1600 px image width."""

    cleanup_window: int = 15
    cleanup_relative_margin: float = 0.15
    max_fill_distance: float = 18.0


def _scaled_odd(size: int, width: int) -> int:
    scaled = max(1, int(round(size * width / REFERENCE_WIDTH)))
    return scaled if scaled % 2 else scaled + 1


def remove_see_through(depth: np.ndarray, window: int, relative_margin: float) -> np.ndarray:
    """Drop samples more than `relative_margin` farther than the nearest one in the window."""
    valid = depth > 0
    far = np.float32(1e6)
    nearest = cv2.erode(
        np.where(valid, depth, far).astype(np.float32), np.ones((window, window), np.uint8)
    )
    keep = valid & (depth <= nearest * (1.0 + relative_margin))
    return np.where(keep, depth, 0).astype(np.float32)


def fill_nearest(depth: np.ndarray, max_distance: float) -> np.ndarray:
    """Each empty pixel takes its nearest sample's depth if that sample is close enough."""
    valid = depth > 0
    if not valid.any():
        return np.zeros_like(depth, dtype=np.float32)
    distance, labels = cv2.distanceTransformWithLabels(
        (~valid).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    # Labels number the valid pixels 1..n in row-major order; 0 never occurs.
    sample_depth = np.concatenate([[0.0], depth[valid]]).astype(np.float32)
    filled = sample_depth[labels]
    filled[distance > max_distance] = 0.0
    return filled


def interpolate_depth(
    accumulated: np.ndarray, config: InterpolationConfig | None = None
) -> np.ndarray:
    """H x W float32 dense depth from a sparse accumulated map (0 = empty)."""
    config = config or InterpolationConfig()
    width = accumulated.shape[1]
    scale = width / REFERENCE_WIDTH
    cleaned = remove_see_through(
        accumulated.astype(np.float32),
        _scaled_odd(config.cleanup_window, width),
        config.cleanup_relative_margin,
    )
    return fill_nearest(cleaned, config.max_fill_distance * scale)
