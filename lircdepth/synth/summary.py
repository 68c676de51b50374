"""A short account of a nuScenes dataroot, read back through the devkit."""

from __future__ import annotations

from collections import Counter

from nuscenes.nuscenes import NuScenes


def summarize(nusc: NuScenes) -> list[str]:
    """Lines giving table sizes, sample_data per channel and annotations per category.

    Everything is counted from what the devkit loaded, so the summary doubles as a
    check that the tables link up (channels and categories are resolved by the devkit).
    """
    channels = Counter(sd["channel"] for sd in nusc.sample_data)
    keyframes = Counter(sd["channel"] for sd in nusc.sample_data if sd["is_key_frame"])
    categories = Counter(ann["category_name"] for ann in nusc.sample_annotation)
    lines = [
        f"scenes {len(nusc.scene)}, samples {len(nusc.sample)}, "
        f"sample_data {len(nusc.sample_data)}, annotations {len(nusc.sample_annotation)}, "
        f"instances {len(nusc.instance)}",
        "sample_data per channel (keyframes / all):",
    ]
    width = max([12, *map(len, channels)])
    lines += [f"  {ch:<{width}} {keyframes[ch]:>5} / {channels[ch]}" for ch in sorted(channels)]
    lines.append("annotations per category:")
    lines += [f"  {name:<24} {count:>5}" for name, count in sorted(categories.items())]
    return lines
