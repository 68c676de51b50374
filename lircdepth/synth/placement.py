"""Keep the world physical: no two boxes (nor a box and the ego) ever intersect.

Every agent keeps a fixed lateral offset and a constant signed speed along the road, so
two agents meet iff their lateral, vertical and along-road extents all overlap at some
instant; the along-road separation is linear in time, so its closest approach over an
interval is found exactly from the interval's end points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CLEARANCE = 0.3  # metres kept free between two boxes


@dataclass(frozen=True)
class Footprint:
    """Road-frame extent of a box moving at constant speed along the road."""

    s0: float  # along-road position at t = 0
    velocity: float  # signed speed along the road
    lat: float
    width: float
    length: float  # along-road extent, in centre-line arc length
    z0: float
    height: float

    def meets(self, other: Footprint, t0: float, t1: float) -> bool:
        """Whether the two boxes come closer than CLEARANCE at some t in [t0, t1]."""
        if abs(self.lat - other.lat) >= (self.width + other.width) / 2 + CLEARANCE:
            return False
        if self.z0 >= other.z0 + other.height or other.z0 >= self.z0 + self.height:
            return False
        start, end = (self.s0 - other.s0 + (self.velocity - other.velocity) * t for t in (t0, t1))
        closest = 0.0 if start * end <= 0 else min(abs(start), abs(end))
        return closest < (self.length + other.length) / 2 + CLEARANCE


class Placement:
    """Accepts groups of boxes only where they meet none already placed."""

    def __init__(self, t0: float, t1: float) -> None:
        self.t0, self.t1 = t0, t1
        self.placed: list[Footprint] = []

    def try_add(self, group: Sequence[Footprint]) -> bool:
        """Place the whole group (e.g. a tree's trunk and canopy) or none of it."""
        if any(new.meets(old, self.t0, self.t1) for new in group for old in self.placed):
            return False
        self.placed += group
        return True
