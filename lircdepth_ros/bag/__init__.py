"""nuScenes as ROS 2 bags: converter, rclpy player and online depth evaluator.

Bags are read through the ROS-free `lircdepth.bagdata`. The library entry points are
imported lazily (the player and evaluator need rclpy, the converter does not):

    convert_scenes(dataroot, version, out_dir, scenes=None, storage="mcap", ..., layout="lircdepth")
    play_bag(bag, PlayOptions(...) or its fields as keywords) -> PlaybackStats
    evaluate_bag(bag, EvaluateOptions(...) or its fields as keywords) -> results dict
    score_depth_maps(bag, {camera stamp ns: depth map}) -> results dict (no ROS)
"""

from __future__ import annotations

import importlib

_ENTRY_POINTS = {
    "convert_scenes": "lircdepth_ros.bag.convert",
    "play_bag": "lircdepth_ros.bag.play",
    "PlayOptions": "lircdepth_ros.bag.play",
    "node_remap": "lircdepth_ros.bag.play",
    "evaluate_bag": "lircdepth_ros.bag.evaluate",
    "score_depth_maps": "lircdepth_ros.bag.scoring",
}

__all__ = list(_ENTRY_POINTS)


def __getattr__(name: str):
    if name in _ENTRY_POINTS:
        return getattr(importlib.import_module(_ENTRY_POINTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
