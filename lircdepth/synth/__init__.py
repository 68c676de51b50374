"""A deterministic synthetic driving world written in the exact nuScenes on-disk format.

It replaces the nuScenes download wherever there is none (tests, demo, CI): the
unmodified nuscenes-devkit loads it, and the true dense depth of every keyframe camera
image is written beside it (`depth_gt/<sample_data token>.npy`) to check geometry.
"""

from lircdepth.synth.config import SynthConfig
from lircdepth.synth.generate import generate

__all__ = ["SynthConfig", "generate"]
