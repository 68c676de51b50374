"""A nuScenes scene as one time-ordered stream of sample_data records.

Only tokens and timestamps are collected up front (a few kilobytes per scene); the
sensor files are read one record at a time by the caller, so a 20-second scene of
full-size images never sits in memory at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from lircdepth.errors import UnknownNameError


@dataclass(frozen=True, order=True)
class StreamItem:
    """One sample_data record of a scene; ordered by time, then channel."""

    timestamp: int  # microseconds
    channel: str
    token: str
    is_key_frame: bool


def find_scene(nusc, name_or_token: str) -> dict:
    """The scene record named (e.g. 'scene-0061') or with this token; a clear error if absent."""
    for scene in nusc.scene:
        if name_or_token in (scene["name"], scene["token"]):
            return scene
    known = ", ".join(s["name"] for s in nusc.scene)
    raise UnknownNameError(f"scene {name_or_token!r} is not in {nusc.version} (scenes: {known})")


def scene_channels(nusc, scene: dict) -> list[str]:
    """Every sensor channel recorded in the scene's first sample."""
    return sorted(nusc.get("sample", scene["first_sample_token"])["data"])


def channel_items(nusc, scene: dict, channel: str) -> list[StreamItem]:
    """All sample_data records (keyframes and sweeps) of one channel in the scene, in order."""
    first_sample = nusc.get("sample", scene["first_sample_token"])
    if channel not in first_sample["data"]:
        raise KeyError(
            f"channel {channel!r} is not recorded in scene {scene['name']} "
            f"(channels: {', '.join(sorted(first_sample['data']))})"
        )

    def in_scene(record: dict) -> bool:
        return nusc.get("sample", record["sample_token"])["scene_token"] == scene["token"]

    record = nusc.get("sample_data", first_sample["data"][channel])
    while record["prev"] and in_scene(previous := nusc.get("sample_data", record["prev"])):
        record = previous
    items = []
    while True:
        items.append(
            StreamItem(record["timestamp"], channel, record["token"], bool(record["is_key_frame"]))
        )
        if not record["next"] or not in_scene(following := nusc.get("sample_data", record["next"])):
            return items
        record = following


def scene_stream(nusc, scene: dict, channels: list[str]) -> Iterator[StreamItem]:
    """Records of all `channels` merged into one time-ordered stream."""
    return heapq.merge(*(channel_items(nusc, scene, channel) for channel in channels))
