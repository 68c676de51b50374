"""Derived training data: `prepare` (nuScenes -> files) and `RadarCameraDataset` (files -> tensors).

The Dataset is imported lazily so that preparing data never imports torch.
"""

from __future__ import annotations

__all__ = ["RadarCameraDataset"]


def __getattr__(name: str):
    if name == "RadarCameraDataset":
        from lircdepth.data.dataset import RadarCameraDataset

        return RadarCameraDataset
    raise AttributeError(f"module 'lircdepth.data' has no attribute {name!r}")
