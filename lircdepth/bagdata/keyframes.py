"""The keyframes of a bag: from the converter's table, or found from the stamps.

A keyframe is one lidar sweep and, per camera, the image taken with it (nuScenes'
samples). Bags made by `lircdepth bag convert` store the table in metadata.yaml. Other
bags are searched by rule:

1. nuscenes2bag layout: keyframe images are logged at the lidar sweep's bag time (their
   header stamps differ by up to +/-42 ms). Every lidar sweep with images logged at its
   very bag time is a keyframe with those images.
2. Otherwise: each camera image and the lidar sweep nearest to it in header stamp, when
   each is the other's nearest and they are at most `max_gap_ns` apart (default 50 ms).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

KEYFRAMES_KEY = "lircdepth.keyframes"
DEFAULT_MAX_GAP_NS = 50_000_000


@dataclass(frozen=True)
class Stamped:
    """Where a message sits: its header stamp and its bag (log) time, both ns."""

    stamp: int
    log_time: int


@dataclass
class Keyframe:
    """channel -> header stamp (ns) of the lidar sweep and of each camera's image."""

    lidar: str
    stamps: dict[str, int] = field(default_factory=dict)
    token: str | None = None

    @property
    def lidar_stamp(self) -> int:
        return self.stamps[self.lidar]


def keyframes_from_table(custom_data: Mapping[str, str], lidar: str) -> list[Keyframe] | None:
    """The converter's table (microsecond stamps) as keyframes; None when the bag has none."""
    if KEYFRAMES_KEY not in custom_data:
        return None
    table = json.loads(custom_data[KEYFRAMES_KEY])
    return [
        Keyframe(
            lidar,
            {c: int(us) * 1000 for c, us in sample["stamps"].items()},
            sample.get("sample_token"),
        )
        for sample in table
    ]


def _logged_with(sweeps: Sequence[Stamped], images: Sequence[Stamped]) -> dict[int, int]:
    """lidar stamp -> image stamp of the images logged at a sweep's very bag time."""
    by_log = {s.log_time: s.stamp for s in sweeps}
    return {by_log[i.log_time]: i.stamp for i in images if i.log_time in by_log}


def _mutual_nearest(
    sweeps: Sequence[Stamped], images: Sequence[Stamped], max_gap_ns: int
) -> dict[int, int]:
    lidar = sorted(s.stamp for s in sweeps)
    cams = sorted(i.stamp for i in images)

    def nearest(values: list[int], stamp: int) -> int:
        index = bisect.bisect_left(values, stamp)
        near = values[max(index - 1, 0) : index + 1]
        return min(near, key=lambda v: (abs(v - stamp), v))

    pairs = {}
    for image in cams:
        sweep = nearest(lidar, image)
        if abs(sweep - image) <= max_gap_ns and nearest(cams, sweep) == image:
            pairs[sweep] = image
    return pairs


def find_keyframes(
    lidar: str,
    sweeps: Sequence[Stamped],
    cameras: Mapping[str, Sequence[Stamped]],
    max_gap_ns: int = DEFAULT_MAX_GAP_NS,
) -> list[Keyframe]:
    """Keyframes by the rules above (rule 1 when any camera image shares a sweep's bag time)."""
    if not sweeps:
        return []
    logged = {c: _logged_with(sweeps, images) for c, images in cameras.items()}
    if any(logged.values()):
        pairs = logged
    else:
        pairs = {
            c: _mutual_nearest(sweeps, images, max_gap_ns)
            for c, images in cameras.items()
            if images
        }
    keyframes: dict[int, Keyframe] = {}
    for camera, matches in pairs.items():
        for sweep, image in matches.items():
            keyframes.setdefault(sweep, Keyframe(lidar, {lidar: sweep})).stamps[camera] = image
    return [keyframes[s] for s in sorted(keyframes)]
