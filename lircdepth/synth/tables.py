"""nuScenes v1.0 metadata tables: deterministic tokens and the static vocabulary."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CATEGORIES = {
    "vehicle.car": "Vehicle designed primarily for personal use.",
    "vehicle.truck": "Vehicles primarily designed to haul cargo.",
    "human.pedestrian.adult": "Adult subcategory.",
}
ATTRIBUTES = {
    "vehicle.moving": "Vehicle is moving.",
    "vehicle.parked": "Vehicle is stationary with no driver.",
    "vehicle.stopped": "Vehicle, with a driver/rider in/on it, is currently stationary.",
    "pedestrian.moving": "The human is moving.",
    "pedestrian.standing": "The human is standing.",
}
VISIBILITY = {"1": "v0-40", "2": "v40-60", "3": "v60-80", "4": "v80-100"}
TABLE_NAMES = [
    "category",
    "attribute",
    "visibility",
    "instance",
    "sensor",
    "calibrated_sensor",
    "ego_pose",
    "log",
    "scene",
    "sample",
    "sample_data",
    "sample_annotation",
    "map",
]


class Tokens:
    """32-hex tokens derived from the seed and a name: same seed, same tokens."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, *parts: object) -> str:
        key = "/".join(str(p) for p in (self.seed, *parts))
        return hashlib.md5(key.encode()).hexdigest()


def vocabulary_tables(tokens: Tokens) -> dict[str, list[dict]]:
    return {
        "category": [
            {"token": tokens("category", n), "name": n, "description": d, "index": i}
            for i, (n, d) in enumerate(CATEGORIES.items())
        ],
        "attribute": [
            {"token": tokens("attribute", n), "name": n, "description": d}
            for n, d in ATTRIBUTES.items()
        ],
        "visibility": [
            {
                "token": t,
                "level": level,
                "description": f"visibility of whole object is {level[1:]}%",
            }
            for t, level in VISIBILITY.items()
        ],
    }


def visibility_token(fraction_visible: float) -> str:
    """nuScenes visibility bin of the fraction of an object's pixels seen by the camera."""
    return (
        "1"
        if fraction_visible < 0.4
        else "2"
        if fraction_visible < 0.6
        else "3"
        if fraction_visible < 0.8
        else "4"
    )


def link_chain(records: list[dict]) -> None:
    """Fill prev/next tokens of records in time order (nuScenes' doubly linked lists)."""
    for i, record in enumerate(records):
        record["prev"] = records[i - 1]["token"] if i > 0 else ""
        record["next"] = records[i + 1]["token"] if i + 1 < len(records) else ""


def write_tables(folder: Path, tables: dict[str, list[dict]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLE_NAMES:
        (folder / f"{name}.json").write_text(json.dumps(tables[name], indent=0))
