"""Association labels and radar box membership, checked against hand-made cases."""

from __future__ import annotations

import numpy as np
from nuscenes.utils.data_classes import Box
from pyquaternion import Quaternion

from lircdepth.data.association import AssociationConfig, association_label
from lircdepth.data.boxes import assign_to_boxes, inside_any

HEIGHT, WIDTH = 900, 1600  # reference size: the window is +/- 150 px by +/- 50 px
NO_BOXES = np.zeros((0, 4), np.float32)


def _point(u, v, depth, obj=0.0):
    return [u, v, depth, 1.0, 0.0, 0.0, obj]


def test_window_is_150_px_each_way_horizontally_and_50_vertically():
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    depth[:, 700:] = 10.3  # within 0.4 m
    depth[:, 800:] = 11.0  # not
    label = association_label(np.array([_point(700.0, 450.0, 10.0)]), NO_BOXES, depth)
    # columns 550..850, rows 400..500
    assert label[450, 550] == 1 and label[450, 549] == 0
    assert label[450, 799] == 1 and label[450, 800] == 0
    assert label[400, 700] == 1 and label[399, 700] == 0
    assert label[500, 700] == 1 and label[501, 700] == 0
    assert label.sum() == 250 * 101


def test_window_scales_with_the_image_size():
    depth = np.full((450, 800), 10.0, dtype=np.float32)
    label = association_label(np.array([_point(400.0, 200.0, 10.0)]), NO_BOXES, depth)
    assert label.sum() == 151 * 51  # +/- 75 columns, +/- 25 rows
    config = AssociationConfig(patch_half_size=(10, 20))
    assert (
        association_label(np.array([_point(400.0, 200.0, 10.0)]), NO_BOXES, depth, config).sum()
        == 21 * 11
    )


def test_each_points_patch_overwrites_the_label_in_turn():
    """Published order: a later point's patch clears what an earlier one set."""
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    matching, other = _point(700.0, 450.0, 10.0), _point(760.0, 450.0, 20.0)
    label = association_label(np.array([matching, other]), NO_BOXES, depth)
    assert label[450, 600] == 1  # only the first patch covers it
    assert label[450, 700] == 0  # the second patch (no match) came later
    assert label.sum() == 60 * 101
    reversed_label = association_label(np.array([other, matching]), NO_BOXES, depth)
    assert reversed_label.sum() == 301 * 101


def test_object_points_use_their_box():
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    boxes = np.array([[100.0, 10.0, 400.0, 90.0]], dtype=np.float32)
    label = association_label(np.array([_point(300.0, 50.0, 10.0, 1.0)]), boxes, depth)
    assert label[10:91, 100:401].all()
    assert label.sum() == 81 * 301


def test_points_outside_the_radar_rules_get_no_patch():
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    points = np.array([_point(300.0, 50.0, 0.5), _point(0.5, 50.0, 10.0)])
    assert association_label(points, NO_BOXES, depth).sum() == 0


def _car(x=20.0, y=0.0):
    return Box(
        [x, y, 1.0], [2.0, 4.0, 1.5], Quaternion(axis=[0, 0, 1], angle=0.0), name="vehicle.car"
    )


def test_radar_membership_is_strict_by_default():
    """Published: the point must lie in the annotated box (height included)."""
    points = np.array([[21.9, 0.0, 1.0], [22.2, 0.0, 1.0], [20.0, 0.0, 9.0]])
    assert assign_to_boxes(points, [_car()], np.zeros(3)).tolist() == [0, -1, -1]


def test_grown_membership_tolerates_half_a_metre_and_ignores_height():
    points = np.array([[22.4, 0.0, 0.3], [20.0, 1.4, 9.0], [22.7, 0.0, 0.3]])
    owner = assign_to_boxes(points, [_car()], np.zeros(3), 0.5, 0.0, ignore_height=True)
    assert owner.tolist() == [0, 0, -1]


def test_grown_membership_tolerates_azimuth_error():
    # 20 m away, 1.5 degrees beside the box edge (1 m + 0.5 m margin) is about 0.52 m.
    angle = np.arctan2(1.5, 20.0) + np.deg2rad(1.5)
    point = np.array([[20.0 * np.cos(angle), 20.0 * np.sin(angle), 0.5]])
    assert assign_to_boxes(point, [_car()], np.zeros(3), 0.5, 1.7, True).tolist() == [0]
    assert assign_to_boxes(point, [_car()], np.zeros(3), 0.5, 0.0, True).tolist() == [-1]


def test_nearest_box_wins_and_inside_any():
    points = np.array([[20.0, 1.3, 0.5]])
    boxes = [_car(20.0, 3.5), _car(20.0, 0.0)]
    assert assign_to_boxes(points, boxes, np.zeros(3), 0.5, 1.7, True).tolist() == [1]
    assert inside_any(np.array([[20.0, 0.0, 1.0], [30.0, 0.0, 1.0]]), boxes, 0.3).tolist() == [
        True,
        False,
    ]
