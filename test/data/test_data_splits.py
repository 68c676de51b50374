"""Scene splits: official for real nuScenes names, seeded by scene otherwise."""

from __future__ import annotations

from lircdepth.data.splits import assign_splits, seeded_splits


def test_mini_uses_the_official_split():
    names = ["scene-0061", "scene-0103", "scene-0553"]
    splits = assign_splits("v1.0-mini", names, seed=0)
    assert splits["train"] == ["scene-0061", "scene-0553"]
    assert splits["val"] == ["scene-0103"] == splits["test"]


def test_unknown_scenes_get_a_seeded_split_with_every_split_non_empty():
    names = [f"synth-{i:04d}" for i in range(3)]
    splits = assign_splits("v1.0-mini", names, seed=0)
    assert all(len(splits[s]) == 1 for s in ("train", "val", "test"))
    assert sorted(sum(splits.values(), [])) == names
    assert splits == assign_splits("v1.0-mini", names, seed=0)
    big = seeded_splits([f"s{i}" for i in range(20)], seed=3)
    assert (len(big["train"]), len(big["val"]), len(big["test"])) == (14, 3, 3)
    assert seeded_splits(["a", "b"], 0)["val"] == seeded_splits(["a", "b"], 0)["test"]
