"""A procedural driving scene: a curved road, static structures and moving agents.

Everything is an oriented box on a ground plane (z = 0) laid out in road coordinates
(s = arc length along the road centre line, lat = signed offset to its left), so that
the scene is cheap to ray-cast exactly and every object has a true 3-D box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lircdepth.synth.placement import Footprint, Placement

ROAD_HALF_WIDTH = 7.0
LANE_WIDTH = 3.5
SIDEWALK_OUTER = 10.0


@dataclass(frozen=True)
class Road:
    """Centre line of constant curvature starting at the origin heading along +x."""

    curvature: float

    def _safe_curvature(self) -> float:
        return self.curvature if abs(self.curvature) > 1e-7 else 1e-7

    def pose(self, s: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World x, y and heading of road coordinates (s, lat)."""
        k = self._safe_curvature()
        s = np.asarray(s, dtype=np.float64)
        heading = k * s
        x = np.sin(heading) / k - lat * np.sin(heading)
        y = (1.0 - np.cos(heading)) / k + lat * np.cos(heading)
        return x, y, heading

    def stretch(self, lat: float) -> float:
        """Metres travelled at offset lat per metre of centre line (> 1 outside a bend)."""
        return 1.0 - self.curvature * lat

    def road_coordinates(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of `pose`: (s, lat) of world points (exact for a circle)."""
        k = self._safe_curvature()
        radius = 1.0 / k
        dx, dy = x, y - radius
        dist = np.hypot(dx, dy)
        sign = np.sign(radius)
        angle = np.arctan2(dx * sign, -dy * sign)
        lat = sign * (abs(radius) - dist)
        return angle * radius, lat


@dataclass(frozen=True)
class Kind:
    """An object class: nuScenes category, size ranges (w, l, h), colour, radar strength."""

    category: str
    size_low: tuple[float, float, float]
    size_high: tuple[float, float, float]
    rcs_db: tuple[float, float]
    annotated: bool
    material: str


KINDS = {
    "car": Kind("vehicle.car", (1.7, 3.9, 1.4), (2.0, 4.9, 1.8), (2.0, 12.0), True, "car"),
    "truck": Kind("vehicle.truck", (2.3, 6.0, 2.6), (2.6, 9.5, 3.6), (12.0, 25.0), True, "truck"),
    "pedestrian": Kind(
        "human.pedestrian.adult", (0.55, 0.5, 1.6), (0.75, 0.8, 1.9), (-8.0, 0.0), True, "person"
    ),
    "building": Kind(
        "static.building", (8.0, 10.0, 6.0), (14.0, 30.0, 24.0), (10.0, 30.0), False, "building"
    ),
    "wall": Kind("static.wall", (0.3, 8.0, 1.0), (0.5, 30.0, 2.2), (5.0, 15.0), False, "wall"),
    "pole": Kind("static.pole", (0.25, 0.25, 5.0), (0.35, 0.35, 8.0), (0.0, 8.0), False, "pole"),
    "trunk": Kind("static.trunk", (0.35, 0.35, 2.5), (0.5, 0.5, 3.5), (-5.0, 2.0), False, "trunk"),
    "canopy": Kind(
        "static.vegetation", (2.5, 2.5, 2.0), (4.0, 4.0, 3.5), (-10.0, -2.0), False, "canopy"
    ),
}


@dataclass
class Agent:
    """One box moving along the road at constant speed (speed 0: static)."""

    kind: str
    s0: float
    lat: float
    speed: float  # metres of road centre line per second (0: static)
    size: np.ndarray  # w, l, h
    z0: float = 0.0
    backwards: bool = False
    color: np.ndarray = field(default_factory=lambda: np.ones(3))
    rcs: float = 0.0

    def pose(self, road: Road, t: float) -> tuple[np.ndarray, float, np.ndarray]:
        """Box centre (x, y, z), yaw and world velocity (vx, vy, 0) at time t."""
        direction = -1.0 if self.backwards else 1.0
        s = self.s0 + direction * self.speed * t
        x, y, heading = road.pose(np.array(s), np.array(self.lat))
        yaw = float(heading) + (np.pi if self.backwards else 0.0)
        speed = direction * self.speed * road.stretch(self.lat)
        velocity = speed * np.array([np.cos(heading), np.sin(heading), 0.0])
        centre = np.array([float(x), float(y), self.z0 + self.size[2] / 2])
        return centre, yaw, velocity


@dataclass
class Scene:
    road: Road
    ego_speed: float
    ego_lat: float
    agents: list[Agent]
    sky_color: np.ndarray

    def ego_pose(self, t: float) -> tuple[np.ndarray, float]:
        """Ego position (x, y, 0) and yaw at time t (ego drives its lane at constant speed)."""
        x, y, heading = self.road.pose(np.array(self.ego_speed * t), np.array(self.ego_lat))
        return np.array([float(x), float(y), 0.0]), float(heading)

    def ego_velocity(self, t: float) -> np.ndarray:
        """World velocity of the ego origin (its lane is longer or shorter than the centre line)."""
        _, yaw = self.ego_pose(t)
        speed = self.ego_speed * self.road.stretch(self.ego_lat)
        return speed * np.array([np.cos(yaw), np.sin(yaw), 0.0])

    def rigid_velocity(self, t: float, point: np.ndarray) -> np.ndarray:
        """World velocity of a point fixed to the ego (a sensor): v + yaw rate x offset.
        A radar ahead of the rear axle moves sideways on a curve."""
        position, _ = self.ego_pose(t)
        yaw_rate = self.ego_speed * self.road.curvature
        offset = np.asarray(point, dtype=np.float64) - position
        return self.ego_velocity(t) + yaw_rate * np.array([-offset[1], offset[0], 0.0])


def _random_agent(
    rng: np.random.Generator, kind: str, s0: float, lat: float, speed: float, **kw
) -> Agent:
    spec = KINDS[kind]
    size = rng.uniform(spec.size_low, spec.size_high)
    if spec.material in ("car", "truck"):
        color = rng.choice(
            [
                [0.85, 0.85, 0.88],
                [0.1, 0.1, 0.12],
                [0.6, 0.1, 0.1],
                [0.15, 0.25, 0.55],
                [0.55, 0.55, 0.5],
            ]
        )
        color = np.asarray(color) * rng.uniform(0.85, 1.1)
    elif spec.material == "building":
        color = rng.uniform([0.45, 0.35, 0.3], [0.85, 0.8, 0.75])
    elif spec.material == "canopy":
        color = rng.uniform([0.1, 0.3, 0.08], [0.25, 0.5, 0.15])
    elif spec.material == "person":
        color = rng.uniform([0.1, 0.1, 0.1], [0.8, 0.6, 0.5])
    else:
        color = rng.uniform([0.35, 0.35, 0.35], [0.6, 0.55, 0.5])
    return Agent(
        kind, s0, lat, speed, size, color=np.clip(color, 0, 1), rcs=rng.uniform(*spec.rcs_db), **kw
    )


EGO_SIZE = (1.9, 4.7, 1.7)  # w, l, h of the ego vehicle, which the sensors never see


def _structures(rng: np.random.Generator, side: float, s_end: float) -> list[list[Agent]]:
    """Buildings, poles at the kerb, trees and a wall on one side of the road."""
    groups: list[list[Agent]] = []
    s = rng.uniform(-30.0, -10.0)
    while s < s_end:  # building row, with gaps
        building = _random_agent(rng, "building", 0.0, 0.0, 0.0)
        if rng.random() < 0.8:
            building.s0 = s + building.size[1] / 2
            offset = SIDEWALK_OUTER + 2.0 + building.size[0] / 2 + rng.uniform(0, 8)
            building.lat = side * offset
            groups.append([building])
        s += building.size[1] + rng.uniform(2.0, 12.0)
    if rng.random() < 0.5:
        groups.append(
            [_random_agent(rng, "wall", rng.uniform(0, s_end), side * (SIDEWALK_OUTER + 0.3), 0.0)]
        )
    for s in np.arange(rng.uniform(-15, 5), s_end, rng.uniform(25, 45)):
        lat = side * rng.uniform(SIDEWALK_OUTER + 0.5, SIDEWALK_OUTER + 1.5)
        trunk = _random_agent(rng, "trunk", s, lat, 0.0)
        groups.append([trunk, _random_agent(rng, "canopy", s, lat, 0.0, z0=trunk.size[2] * 0.85)])
    for s in np.arange(rng.uniform(-20, 0), s_end, rng.uniform(18, 30)):
        lat = side * (ROAD_HALF_WIDTH + 0.5) * rng.uniform(0.99, 1.01)
        groups.append([_random_agent(rng, "pole", s + rng.uniform(-2, 2), lat, 0.0)])
    return groups


def _road_users(
    rng: np.random.Generator, ego_lat: float, ego_speed: float, s_end: float
) -> list[list[Agent]]:
    """A lead vehicle, lane traffic, parked cars and pedestrians, most important first.

    Each side's outer lane is either a traffic lane or (sometimes) a parking lane.
    """
    groups: list[list[Agent]] = []
    if rng.random() < 0.8:  # a lead vehicle in the ego lane, never slower than the ego
        speed = ego_speed + rng.uniform(0.0, 2.0)
        groups.append([_random_agent(rng, "car", rng.uniform(14, 35), ego_lat, speed)])
    parking = {side: bool(rng.random() < 0.35) for side in (-1.0, 1.0)}
    lanes = [(LANE_WIDTH / 2, True)]
    lanes += [(side * LANE_WIDTH * 1.5, side > 0) for side in (-1.0, 1.0) if not parking[side]]
    for lane_lat, backwards in lanes:
        lane_speed = rng.uniform(4.0, 13.0)
        for _ in range(rng.integers(1, 5)):
            kind = "truck" if rng.random() < 0.25 else "car"
            speed = lane_speed * rng.uniform(0.9, 1.1)
            s0 = rng.uniform(-20, s_end)
            groups.append([_random_agent(rng, kind, s0, lane_lat, speed, backwards=backwards)])
    for side in (-1.0, 1.0):
        for _ in range(rng.integers(2, 7) if parking[side] else rng.integers(0, 2)):
            lat = side * (ROAD_HALF_WIDTH - 1.1)
            groups.append([_random_agent(rng, "car", rng.uniform(-10, s_end - 30), lat, 0.0)])
        for _ in range(rng.integers(1, 5)):  # pedestrians on the sidewalk
            speed = rng.uniform(0.0, 1.6)
            lat = side * rng.uniform(8.3, 9.6)
            backwards = bool(rng.random() < 0.5)
            s0 = rng.uniform(0, s_end - 40)
            groups.append([_random_agent(rng, "pedestrian", s0, lat, speed, backwards=backwards)])
    return groups


def footprint(agent: Agent, road: Road) -> Footprint:
    """The agent's road-frame extent. Agents move at `speed` metres of centre line per
    second; a metre at offset lat spans 1 / stretch(lat) metres of centre line."""
    length = agent.size[1] / max(road.stretch(agent.lat), 0.2)
    velocity = (-1.0 if agent.backwards else 1.0) * agent.speed
    return Footprint(agent.s0, velocity, agent.lat, agent.size[0], length, agent.z0, agent.size[2])


def build_scene(rng: np.random.Generator, duration: float, history: float = 1.0) -> Scene:
    """Lay out one scene valid over t in [-history, duration] (seconds).

    Candidates are placed in order of importance and dropped where they would touch
    the ego or a box already placed at any instant of that window.
    """
    curvature = float(rng.choice([0.0, rng.uniform(-1 / 120, 1 / 120)]))
    road = Road(curvature)
    ego_speed = float(rng.uniform(5.0, 11.0))
    ego_lat = -LANE_WIDTH / 2
    s_end = ego_speed * duration + 120.0
    groups = [group for side in (-1.0, 1.0) for group in _structures(rng, side, s_end)]
    groups += _road_users(rng, ego_lat, ego_speed, s_end)
    ego = Agent("car", 0.0, ego_lat, ego_speed, np.array(EGO_SIZE))
    placement = Placement(-history, duration)
    placement.try_add([footprint(ego, road)])
    agents = [
        agent
        for group in groups
        if placement.try_add([footprint(agent, road) for agent in group])
        for agent in group
    ]
    sky = rng.uniform([0.55, 0.65, 0.8], [0.7, 0.8, 0.95])
    return Scene(road, ego_speed, ego_lat, agents, sky)


@dataclass
class Snapshot:
    """All boxes at one instant, as arrays for vectorised ray casting."""

    centres: np.ndarray  # N x 3
    yaws: np.ndarray  # N
    sizes: np.ndarray  # N x 3 (w, l, h)
    velocities: np.ndarray  # N x 3
    colors: np.ndarray  # N x 3
    materials: list[str]
    rcs: np.ndarray  # N

    def select(self, indices: list[int]) -> Snapshot:
        """The snapshot holding only the given boxes (renumbered from 0)."""
        return Snapshot(
            centres=self.centres[indices],
            yaws=self.yaws[indices],
            sizes=self.sizes[indices],
            velocities=self.velocities[indices],
            colors=self.colors[indices],
            materials=[self.materials[i] for i in indices],
            rcs=self.rcs[indices],
        )

    def box_rotation(self, i: int) -> np.ndarray:
        c, s = np.cos(self.yaws[i]), np.sin(self.yaws[i])
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def half_extents(self, i: int) -> np.ndarray:
        """Half sizes along the box's own x (length), y (width), z (height)."""
        w, length, h = self.sizes[i]
        return np.array([length / 2, w / 2, h / 2])


def snapshot(scene: Scene, t: float) -> Snapshot:
    poses = [a.pose(scene.road, t) for a in scene.agents]
    return Snapshot(
        centres=np.array([p[0] for p in poses]),
        yaws=np.array([p[1] for p in poses]),
        sizes=np.array([a.size for a in scene.agents]),
        velocities=np.array([p[2] for p in poses]),
        colors=np.array([a.color for a in scene.agents]),
        materials=[KINDS[a.kind].material for a in scene.agents],
        rcs=np.array([a.rcs for a in scene.agents]),
    )
