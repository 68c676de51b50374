"""The procedural world is physical and varied: boxes never intersect, seeds differ."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from lircdepth.synth.world import EGO_SIZE, Agent, Scene, build_scene

TIMES = np.arange(-0.5, 6.01, 0.25)


def _rectangle(centre: np.ndarray, yaw: float, width: float, length: float) -> np.ndarray:
    """4 x 2 corners of a box's ground rectangle (length along yaw)."""
    c, s = np.cos(yaw), np.sin(yaw)
    axes = np.array([[c, s], [-s, c]]) * np.array([[length / 2], [width / 2]])
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]])
    return centre[:2] + signs @ axes


def _rectangles_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating axis test for two convex quadrilaterals."""
    for corners in (a, b):
        for edge in np.diff(np.vstack([corners, corners[:1]]), axis=0):
            normal = np.array([-edge[1], edge[0]])
            pa, pb = a @ normal, b @ normal
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return False
    return True


def _boxes(scene: Scene, t: float) -> list[tuple[Agent, np.ndarray, float, float]]:
    """(agent, ground rectangle, z bottom, z top) of every box and the ego at time t."""
    position, yaw = scene.ego_pose(t)
    ego = Agent("car", 0.0, scene.ego_lat, scene.ego_speed, np.array(EGO_SIZE))
    boxes = [(ego, _rectangle(position, yaw, EGO_SIZE[0], EGO_SIZE[1]), 0.0, EGO_SIZE[2])]
    for agent in scene.agents:
        centre, box_yaw, _ = agent.pose(scene.road, t)
        rectangle = _rectangle(centre, box_yaw, agent.size[0], agent.size[1])
        boxes.append((agent, rectangle, agent.z0, agent.z0 + agent.size[2]))
    return boxes


def _tree_parts(a: Agent, b: Agent) -> bool:
    return {a.kind, b.kind} == {"trunk", "canopy"} and (a.s0, a.lat) == (b.s0, b.lat)


@pytest.mark.parametrize("seed", range(6))
def test_no_two_boxes_nor_the_ego_ever_intersect(seed):
    scene = build_scene(np.random.default_rng([seed, 0]), duration=6.0, history=0.5)
    for t in TIMES:
        boxes = _boxes(scene, t)
        centres = np.array([rect.mean(axis=0) for _, rect, _, _ in boxes])
        reach = np.array([np.hypot(*(rect[0] - rect[2])) / 2 for _, rect, _, _ in boxes])
        for i, (a, rect_a, bottom_a, top_a) in enumerate(boxes):
            near = np.linalg.norm(centres[i + 1 :] - centres[i], axis=1) < reach[i + 1 :] + reach[i]
            for j in np.flatnonzero(near) + i + 1:
                b, rect_b, bottom_b, top_b = boxes[j]
                if _tree_parts(a, b) or bottom_a >= top_b or bottom_b >= top_a:
                    continue
                assert not _rectangles_overlap(rect_a, rect_b), (t, a.kind, b.kind, a.lat, b.lat)


def test_seeds_vary_the_layout_and_every_kind_appears():
    scenes = [build_scene(np.random.default_rng([seed, 0]), duration=6.0) for seed in range(8)]
    kinds = Counter(agent.kind for scene in scenes for agent in scene.agents)
    assert set(kinds) == {
        "car",
        "truck",
        "pedestrian",
        "building",
        "wall",
        "pole",
        "trunk",
        "canopy",
    }
    assert len({round(scene.ego_speed, 3) for scene in scenes}) == 8
    assert len({scene.road.curvature for scene in scenes}) >= 2, "straight and curved roads"
    moving = [
        a for scene in scenes for a in scene.agents if a.speed > 0.5 and a.kind != "pedestrian"
    ]
    assert any(a.backwards for a in moving) and any(not a.backwards for a in moving)
    assert min(len(scene.agents) for scene in scenes) > 30
