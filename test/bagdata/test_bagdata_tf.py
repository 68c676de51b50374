"""The bag transform tree: chains, interpolation between stamps, bounded extrapolation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lircdepth.bagdata import TransformLookupError, TransformTree
from lircdepth.bagdata import messages as m
from lircdepth.geometry import make_transform

S = 1_000_000_000


def stamped(parent, child, stamp_ns, yaw=0.0, xyz=(0, 0, 0)):
    w, x, y, z = Rotation.from_euler("z", yaw).as_quat(scalar_first=True)
    return m.transform_stamped((w, x, y, z), xyz, stamp_ns // 1000, parent, child)


@pytest.fixture
def tree():
    tree = TransformTree("bag test", max_extrapolation_ns=S // 4)
    for stamp, yaw, x in [(0, 0.0, 0.0), (S // 2, 0.2, 5.0)]:
        tree.add(stamped("map", "base_link", stamp, yaw, (x, 0, 0)), static=False)
        tree.add(stamped("base_link", "CAM", stamp, 0.0, (1, 0, 2)), static=False)
    tree.add(stamped("base_link", "RADAR", 0, 0.0, (3, 0, 0)), static=True)
    return tree


def test_recorded_stamp_gives_the_recorded_matrix(tree):
    expected = make_transform(Rotation.from_euler("z", 0.2).as_quat(scalar_first=True), [5, 0, 0])
    np.testing.assert_array_equal(tree.to_ancestor("map", "base_link", S // 2), expected)


def test_between_stamps_translation_and_yaw_are_interpolated(tree):
    pose = tree.to_ancestor("map", "base_link", S // 8)
    np.testing.assert_allclose(pose[:3, 3], [1.25, 0, 0], atol=1e-12)
    yaw = Rotation.from_matrix(pose[:3, :3]).as_euler("zyx")[0]
    assert yaw == pytest.approx(0.05)
    camera = tree.to_ancestor("map", "CAM", S // 8)
    np.testing.assert_allclose(camera[:3, 3], pose[:3, :3] @ [1, 0, 2] + pose[:3, 3])


def test_extrapolation_is_bounded(tree):
    ahead = tree.to_ancestor("map", "base_link", S // 2 + S // 5)  # 0.2 s past the last pose
    np.testing.assert_allclose(ahead[:3, 3], [7.0, 0, 0], atol=1e-9)
    with pytest.raises(TransformLookupError, match="more than 0.25 s outside") as error:
        tree.to_ancestor("map", "base_link", S)
    assert "\n" not in str(error.value)


def test_static_mount_at_any_stamp_and_chain_between_sensors(tree):
    mount = tree.lookup("base_link", "RADAR", 100 * S)  # /tf_static: no time window
    np.testing.assert_allclose(mount[:3, 3], [3, 0, 0])
    camera_from_radar = tree.lookup("CAM", "RADAR", S // 4)
    np.testing.assert_allclose(camera_from_radar[:3, 3], [2, 0, -2], atol=1e-12)


def test_unknown_frame_names_the_frames(tree):
    with pytest.raises(TransformLookupError, match="no transform from 'LIDAR_TOP' to 'map'"):
        tree.to_ancestor("map", "LIDAR_TOP", 0)


def test_lookup_full_goes_through_the_fixed_frame(tree):
    full = tree.lookup_full("CAM", S // 2, "RADAR", 0, "map")
    expected = np.linalg.inv(tree.to_ancestor("map", "CAM", S // 2)) @ tree.to_ancestor(
        "map", "RADAR", 0
    )
    np.testing.assert_allclose(full, expected)
