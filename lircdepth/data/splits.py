"""Which scenes go to train / val / test.

Real nuScenes scenes use the devkit's official split: v1.0-trainval -> train, val;
v1.0-test -> test; v1.0-mini -> mini_train as train and mini_val as both val and test
(mini has no test scenes). Scenes the official split does not list (the synthetic
world) are shuffled with a fixed seed and split by scene: with three or more scenes
each split gets at least one (about 70 / 15 / 15 %); with two, one trains and the
other is both val and test; a single scene serves all three.
"""

from __future__ import annotations

import numpy as np
from nuscenes.utils.splits import create_splits_scenes

SPLITS = ("train", "val", "test")
_OFFICIAL = {
    "v1.0-trainval": {"train": "train", "val": "val"},
    "v1.0-test": {"test": "test"},
    "v1.0-mini": {"train": "mini_train", "val": "mini_val", "test": "mini_val"},
}


def official_splits(version: str, scene_names: list[str]) -> dict[str, list[str]] | None:
    """The devkit split restricted to `scene_names`, or None if it does not cover them all."""
    mapping = _OFFICIAL.get(version)
    if mapping is None:
        return None
    official = create_splits_scenes()
    splits = {name: [s for s in scene_names if s in official[key]] for name, key in mapping.items()}
    covered = set().union(*map(set, splits.values()))
    if covered != set(scene_names):
        return None
    return {name: splits.get(name, []) for name in SPLITS}


def seeded_splits(scene_names: list[str], seed: int) -> dict[str, list[str]]:
    """A reproducible split by scene for scenes outside the official split."""
    order = [scene_names[i] for i in np.random.default_rng(seed).permutation(len(scene_names))]
    count = len(order)
    if count == 1:
        return {name: list(order) for name in SPLITS}
    if count == 2:
        return {"train": order[:1], "val": order[1:], "test": order[1:]}
    held_out = max(1, int(round(0.15 * count)))
    return {
        "train": sorted(order[2 * held_out :]),
        "val": sorted(order[:held_out]),
        "test": sorted(order[held_out : 2 * held_out]),
    }


def assign_splits(version: str, scene_names: list[str], seed: int) -> dict[str, list[str]]:
    return official_splits(version, scene_names) or seeded_splits(scene_names, seed)
