"""What `lircdepth predict` runs on: a list of frames, each loaded only when it is predicted.

A source (files, a nuScenes dataroot, a bag) lists `FrameJob`s: the output name (a path
under the output folder, without suffix, that maps back to the input), a JSON-able record
of the input, and `load()` giving the image and its radar points projected into it
(N x 6: u, v, depth, rcs, vx, vy). Listing is cheap, so a resumed run skips finished
frames without reading them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class FrameInput:
    image: np.ndarray  # H x W x 3 uint8 RGB
    radar_points: np.ndarray  # N x 6: u, v, depth, rcs, vx, vy


@dataclass
class FrameJob:
    name: str  # e.g. "CAM_FRONT/<sample_data token>"; files: out/<name>.png, ...
    source: dict = field(default_factory=dict)
    load: Callable[[], FrameInput] | None = None
