"""Association labels and radar box membership, checked against hand-made cases."""

from __future__ import annotations

import numpy as np
from nuscenes.utils.data_classes import Box
from pyquaternion import Quaternion

from lircdepth.data.association import association_label
from lircdepth.data.boxes import assign_to_boxes, inside_any

HEIGHT, WIDTH = 100, 1600  # reference width: the window is 150 x 50 pixels


def test_window_patch_labels_only_matching_depth_inside_the_window():
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    depth[:, 700:] = 10.3  # within 0.4 m
    depth[:, 800:] = 11.0  # not
    points = np.array([[700.0, 50.0, 10.0, 1.0, 0.0, 0.0, 0.0]])
    label = association_label(points, np.zeros((0, 4), np.float32), depth)
    # 150 x 50 window centred on (700, 50): columns 625..775, rows 25..75
    assert label[50, 625] == 1 and label[50, 624] == 0
    assert label[50, 775] == 1 and label[50, 776] == 0
    assert label[25, 700] == 1 and label[24, 700] == 0 and label[75, 700] == 1
    assert label[76, 700] == 0
    assert label.sum() == 151 * 51


def test_object_points_use_their_box():
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    boxes = np.array([[100.0, 10.0, 400.0, 90.0]], dtype=np.float32)
    points = np.array([[300.0, 50.0, 10.0, 1.0, 0.0, 0.0, 1.0]])
    label = association_label(points, boxes, depth)
    assert label[10:91, 100:401].all()
    assert label.sum() == 81 * 301


def test_points_outside_the_radar_rules_get_no_patch():
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    points = np.array([[300.0, 50.0, 0.5, 1.0, 0.0, 0.0, 0.0], [0.5, 50.0, 10.0, 1, 0, 0, 0]])
    assert association_label(points, np.zeros((0, 4), np.float32), depth).sum() == 0


def _car(x=20.0, y=0.0):
    return Box(
        [x, y, 1.0], [2.0, 4.0, 1.5], Quaternion(axis=[0, 0, 1], angle=0.0), name="vehicle.car"
    )


def test_radar_membership_tolerates_half_a_metre_and_ignores_height():
    points = np.array([[22.4, 0.0, 0.3], [20.0, 1.4, 9.0], [22.7, 0.0, 0.3]])
    owner = assign_to_boxes(points, [_car()], np.zeros(3), margin=0.5, azimuth_tolerance_deg=0.0)
    assert owner.tolist() == [0, 0, -1]


def test_radar_membership_tolerates_azimuth_error():
    # 20 m away, 1.5 degrees beside the box edge (1 m + 0.5 m margin) is about 0.52 m.
    angle = np.arctan2(1.5, 20.0) + np.deg2rad(1.5)
    point = np.array([[20.0 * np.cos(angle), 20.0 * np.sin(angle), 0.5]])
    assert assign_to_boxes(point, [_car()], np.zeros(3), 0.5, 1.7).tolist() == [0]
    assert assign_to_boxes(point, [_car()], np.zeros(3), 0.5, 0.0).tolist() == [-1]


def test_nearest_box_wins_and_inside_any():
    points = np.array([[20.0, 1.3, 0.5]])
    boxes = [_car(20.0, 3.5), _car(20.0, 0.0)]
    assert assign_to_boxes(points, boxes, np.zeros(3), 0.5, 1.7).tolist() == [1]
    assert inside_any(np.array([[20.0, 0.0, 1.0], [30.0, 0.0, 1.0]]), boxes, 0.3).tolist() == [
        True,
        False,
    ]
