"""Which PointCloud2 fields give the network's radar channels, for the common radar drivers.

The network reads four channels per point: depth (from x, y, z), RCS, vx, vy (nuScenes'
raw `rcs`, `vx`, `vy`). Drivers name and shape them differently, so `radar.preset` picks
a field map and the `radar.field_*` parameters override single names:

| preset | rcs | velocity |
|---|---|---|
| `nuscenes` (default) | `rcs` | `vx`, `vy` (nuScenes PCD fields; `lircdepth bag convert` bags) |
| `ars548` (Continental ARS548) | `rcs` | none |
| `smartmicro` | `RCS` | `radial_speed` (radial) |
| `ti_mmwave` | `intensity` | `velocity` (radial) |

Coordinates are `x`, `y`, `z`; a cloud without them but with `range`, `azimuth`,
`elevation` (metres, radians; ARS548 detection lists) is converted to x, y, z. A radial
speed is split along the line of sight: vx = v_r x / r, vy = v_r y / r (what a Doppler
radar measures, seen in the sensor's x-y axes).

A channel whose field the cloud lacks is filled with zeros (the value of a stationary,
RCS-neutral point), counted per sweep under `radar.channel_zero.<channel>` and warned
about once per radar (docs/ros.md, "Radar drivers"). Pure numpy: no ROS imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

POLAR_FIELDS = ("range", "azimuth", "elevation")
CHANNELS = ("rcs", "vx", "vy")


@dataclass(frozen=True)
class RadarFieldNames:
    """Names of the PointCloud2 fields that hold each model input ("" = none)."""

    x: str = "x"
    y: str = "y"
    z: str = "z"
    rcs: str = "rcs"
    vx: str = "vx"
    vy: str = "vy"
    radial: str = ""  # a radial (Doppler) speed field, used when vx/vy are not given


DEFAULT_FIELDS = RadarFieldNames()

PRESETS: dict[str, RadarFieldNames] = {
    "nuscenes": DEFAULT_FIELDS,
    "ars548": RadarFieldNames(vx="", vy=""),
    "smartmicro": RadarFieldNames(rcs="RCS", vx="", vy="", radial="radial_speed"),
    "ti_mmwave": RadarFieldNames(rcs="intensity", vx="", vy="", radial="velocity"),
}


def preset_fields(preset: str, overrides: dict[str, str]) -> RadarFieldNames:
    """The preset's field map with the non-empty `overrides` (name -> field) applied.

    A `vx`/`vy` override makes the velocity Cartesian; a `radial` one makes it radial.
    """
    if preset not in PRESETS:
        raise ValueError(f"radar preset '{preset}' is not one of {tuple(PRESETS)}")
    given = {name: field for name, field in overrides.items() if field}
    fields = replace(PRESETS[preset], **given)
    if ("vx" in given or "vy" in given) and "radial" not in given:
        fields = replace(fields, radial="")
    elif "radial" in given and not ("vx" in given or "vy" in given):
        fields = replace(fields, vx="", vy="")
    return fields


def uses_polar(available: set[str], names: RadarFieldNames) -> bool:
    """Coordinates from range/azimuth/elevation: x, y, z absent and those three present."""
    cartesian = {names.x, names.y, names.z}
    return not cartesian <= available and set(POLAR_FIELDS) <= available


def missing_coordinates(available: set[str], names: RadarFieldNames) -> list[str]:
    """Coordinate fields the cloud lacks (empty when x/y/z or the polar fields are all there)."""
    if uses_polar(available, names):
        return []
    return [name for name in (names.x, names.y, names.z) if name not in available]


def used_fields(available: set[str], names: RadarFieldNames) -> list[str]:
    """Every field the conversion reads from this cloud."""
    coordinates = POLAR_FIELDS if uses_polar(available, names) else (names.x, names.y, names.z)
    wanted = (*coordinates, names.rcs, names.vx, names.vy, names.radial)
    return [name for name in wanted if name and name in available]


def zero_channels(available: set[str], names: RadarFieldNames) -> list[str]:
    """Network channels (rcs, vx, vy) no field of the cloud provides: they read as 0.

    vx and vy come as a pair (both Cartesian fields, or the radial speed) or not at all.
    """
    missing = [] if names.rcs and names.rcs in available else ["rcs"]
    cartesian = bool(names.vx and names.vy) and {names.vx, names.vy} <= available
    radial = bool(names.radial) and names.radial in available
    if not (cartesian or radial):
        missing += ["vx", "vy"]
    return missing


def coordinates(points: np.ndarray, names: RadarFieldNames) -> np.ndarray:
    """N x 3 float64 x, y, z of a structured point array (polar converted)."""
    available = set(points.dtype.names)
    if uses_polar(available, names):
        r, azimuth, elevation = (points[n].astype(np.float64) for n in POLAR_FIELDS)
        flat = r * np.cos(elevation)
        return np.column_stack(
            [flat * np.cos(azimuth), flat * np.sin(azimuth), r * np.sin(elevation)]
        ).reshape(-1, 3)
    return np.column_stack(
        [points[n].astype(np.float64) for n in (names.x, names.y, names.z)]
    ).reshape(-1, 3)


def features(points: np.ndarray, xyz: np.ndarray, names: RadarFieldNames) -> np.ndarray:
    """N x 3 float64 rcs, vx, vy by the rule above (absent channels 0)."""
    available = set(points.dtype.names)
    out = np.zeros((len(points), 3))
    if names.rcs and names.rcs in available:
        out[:, 0] = points[names.rcs]
    if names.vx and names.vy and {names.vx, names.vy} <= available:
        out[:, 1], out[:, 2] = points[names.vx], points[names.vy]
    elif names.radial and names.radial in available:
        speed = points[names.radial].astype(np.float64)
        distance = np.linalg.norm(xyz, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(distance > 0, speed / distance, 0.0)
        out[:, 1], out[:, 2] = scale * xyz[:, 0], scale * xyz[:, 1]
    return out


def suggest_preset(available: set[str]) -> str | None:
    """The preset whose rcs and velocity fields this cloud has (None when none fits)."""
    for preset, names in PRESETS.items():
        if not zero_channels(available, names):
            return preset
    return None


class RadarChannelMonitor:
    """Counts sweeps whose rcs/vx/vy read as zero and warns once per radar and field set.

    `count(key, amount)` and `warn(text)` are the node's counter and logger.
    """

    def __init__(
        self,
        names: RadarFieldNames,
        count: Callable[[str, int], None],
        warn: Callable[[str], object],
        preset: str = "nuscenes",
        topics: dict[str, str] | None = None,
    ) -> None:
        self.names, self.preset, self.topics = names, preset, topics or {}
        self._count, self._warn = count, warn
        self._warned: set[tuple[str, frozenset[str]]] = set()

    def check(self, stream: str, fields) -> list[str]:
        """The zero channels of one sweep (counted; the first time per field set, warned).

        `fields`: the cloud's PointField list (or names)."""
        available = {getattr(field, "name", field) for field in fields}
        topic = self.topics.get(stream, stream)
        zeros = zero_channels(available, self.names)
        for channel in zeros:
            self._count(f"radar.channel_zero.{channel}", 1)
        key = (stream, frozenset(available))
        if zeros and key not in self._warned:
            self._warned.add(key)
            self._warn(self._text(topic, available, zeros))
        return zeros

    def _text(self, topic: str, available: set[str], zeros: list[str]) -> str:
        wanted = {
            "rcs": self.names.rcs,
            "vx": self.names.vx or self.names.radial,
            "vy": self.names.vy or self.names.radial,
        }
        absent = ", ".join(f"{c} (field '{wanted[c]}')" if wanted[c] else c for c in zeros)
        fits = suggest_preset(available)
        hint = (
            f"; radar.preset:={fits} reads this cloud"
            if fits and fits != self.preset
            else "; set radar.preset or radar.field_* to the cloud's field names"
        )
        return (
            f"radar {topic}: no field for channel(s) {absent}: they read as 0 "
            f"(counted in radar.channel_zero.*); the cloud has fields {sorted(available)} "
            f"(radar.preset={self.preset}){hint}"
        )
