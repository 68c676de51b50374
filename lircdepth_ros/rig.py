"""The node's cameras and radars and their topics: one unnamed camera and radar (the
single-camera node: `image`, `camera_info`, `radar` -> `depth`), or named ones whose topics
come from templates (`topics.image: "{camera}/image"`, `topics.radar: "{radar}"`).

Pure (no ROS): `config_from_values` validates the rig with `rig_layout` before the node
creates any topic, so a bad name or template stops the node naming the parameter.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# A ROS name token: the camera and radar names become topic name parts.
NAME_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SINGLE_RADAR_STREAM = "radar"
OUTPUT_SUFFIXES = ("camera_info", "uncertainty", "points", "colored")


@dataclass(frozen=True)
class RigTopics:
    """Topic templates of named cameras and radars (`topics.*` parameters)."""

    image: str = "{camera}/image"
    camera_info: str = "{camera}/camera_info"
    depth: str = "{camera}/depth"
    radar: str = "{radar}"


@dataclass(frozen=True)
class CameraTopics:
    """One camera's topics; `name` is "" for the single-camera node."""

    name: str
    image: str
    camera_info: str
    depth: str

    def output(self, suffix: str) -> str:
        """`<depth>/camera_info`, `<depth>/points`, ...: outputs next to the depth image."""
        return f"{self.depth}/{suffix}"


@dataclass(frozen=True)
class RadarTopic:
    """One radar input; `stream` names it in /diagnostics (`radar` or the radar's name)."""

    stream: str
    topic: str


@dataclass(frozen=True)
class RigLayout:
    cameras: tuple[CameraTopics, ...]
    radars: tuple[RadarTopic, ...]

    @property
    def is_rig(self) -> bool:
        """Named cameras: per-camera topics, statuses and a batched forward."""
        return bool(self.cameras[0].name)


class RigError(ValueError):
    """A camera/radar name or topic template the node cannot use; the text names the parameter."""


def _check_names(parameter: str, names: tuple[str, ...]) -> None:
    bad = [name for name in names if not NAME_TOKEN.match(name)]
    if bad:
        raise RigError(
            f"parameter '{parameter}': {bad} are not ROS name tokens (letters, digits, _; "
            "not starting with a digit)"
        )
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise RigError(f"parameter '{parameter}': {repeated} given more than once")


def _fill(parameter: str, template: str, **name: str) -> str:
    try:
        topic = template.format(**name)
    except (KeyError, IndexError, ValueError) as error:
        placeholder = "{" + next(iter(name)) + "}"
        raise RigError(
            f"parameter '{parameter}' = '{template}' is not a topic template with "
            f"{placeholder} only ({type(error).__name__}: {error})"
        ) from error
    if not topic:
        raise RigError(f"parameter '{parameter}' = '{template}' gives an empty topic name")
    return topic


def rig_layout(
    cameras: tuple[str, ...], radars: tuple[str, ...], topics: RigTopics = RigTopics()
) -> RigLayout:
    """Topics of every camera and radar; RigError when names or templates collide or are bad."""
    _check_names("cameras", cameras)
    _check_names("radars", radars)
    if "image" in radars:
        raise RigError("parameter 'radars': 'image' is reserved for the camera stream")
    if cameras:
        layout_cameras = tuple(
            CameraTopics(
                name,
                _fill("topics.image", topics.image, camera=name),
                _fill("topics.camera_info", topics.camera_info, camera=name),
                _fill("topics.depth", topics.depth, camera=name),
            )
            for name in cameras
        )
    else:
        layout_cameras = (CameraTopics("", "image", "camera_info", "depth"),)
    if radars:
        layout_radars = tuple(
            RadarTopic(name, _fill("topics.radar", topics.radar, radar=name)) for name in radars
        )
    else:
        layout_radars = (RadarTopic(SINGLE_RADAR_STREAM, "radar"),)
    _check_distinct(layout_cameras, layout_radars)
    return RigLayout(layout_cameras, layout_radars)


def _check_distinct(cameras: tuple[CameraTopics, ...], radars: tuple[RadarTopic, ...]) -> None:
    """Two inputs or outputs on one topic would mix cameras: a template lacks its {name}."""
    owners: dict[str, str] = {}
    for parameter, topic in [
        *(
            (f"topics.{kind}", getattr(camera, kind))
            for camera in cameras
            for kind in ("image", "camera_info", "depth")
        ),
        *(
            ("topics.depth", camera.output(suffix))
            for camera in cameras
            for suffix in OUTPUT_SUFFIXES
        ),
        *(("topics.radar", radar.topic) for radar in radars),
    ]:
        key = topic.strip("/")
        if key in owners:
            raise RigError(
                f"parameters '{owners[key]}' and '{parameter}' both give topic '{topic}' "
                "(does each template hold {camera} / {radar}?)"
            )
        owners[key] = parameter
