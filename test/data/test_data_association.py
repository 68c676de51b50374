"""Association labels and radar box membership, checked against hand-made cases."""

from __future__ import annotations

import numpy as np
from nuscenes.utils.data_classes import Box
from pyquaternion import Quaternion

from lircdepth.data import storage
from lircdepth.data.association import AssociationConfig, association_label
from lircdepth.data.boxes import RADAR_BOX_CATEGORIES, assign_to_boxes, inside_any, is_movable
from lircdepth.data.radar import RadarOptions

HEIGHT, WIDTH = 900, 1600  # reference size: the window is +/- 150 px by +/- 50 px
NO_BOXES = np.zeros((0, 4), np.float32)


def _point(u, v, depth, obj=0.0):
    return [u, v, depth, 1.0, 0.0, 0.0, obj]


def test_window_is_150_px_each_way_horizontally_and_50_vertically():
    """Published slices [v - 50, v + 50) x [u - 150, u + 150): end excluded, 300 x 100 px."""
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    depth[:, 700:] = 10.3  # within 0.4 m
    depth[:, 800:] = 11.0  # not
    label = association_label(np.array([_point(700.0, 450.0, 10.0)]), NO_BOXES, depth)
    # columns 550..849, rows 400..499
    assert label[450, 550] == 1 and label[450, 549] == 0
    assert label[450, 799] == 1 and label[450, 800] == 0
    assert label[400, 700] == 1 and label[399, 700] == 0
    assert label[499, 700] == 1 and label[500, 700] == 0
    assert label.sum() == 250 * 100
    everywhere = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    assert association_label(
        np.array([_point(700.0, 450.0, 10.0)]), NO_BOXES, everywhere
    ).sum() == (300 * 100)


def test_window_is_cut_at_the_image_border():
    """x1 = u - min(u, 150), x2 = u + min(W - u, 150), the same for rows with 50."""
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    top_left = association_label(np.array([_point(100.0, 20.0, 10.0)]), NO_BOXES, depth)
    assert top_left.sum() == 250 * 70  # columns 0..249, rows 0..69
    assert top_left[69, 249] == 1 and top_left[70, 249] == 0 and top_left[69, 250] == 0
    bottom_right = association_label(np.array([_point(1590.0, 880.0, 10.0)]), NO_BOXES, depth)
    assert bottom_right.sum() == 160 * 70  # columns 1440..1599, rows 830..899
    assert bottom_right[830, 1440] == 1 and bottom_right[829, 1440] == 0


def test_window_scales_with_the_image_size():
    depth = np.full((450, 800), 10.0, dtype=np.float32)
    label = association_label(np.array([_point(400.0, 200.0, 10.0)]), NO_BOXES, depth)
    assert label.sum() == 150 * 50  # +/- 75 columns, +/- 25 rows, end excluded
    config = AssociationConfig(patch_half_size=(10, 20))
    assert (
        association_label(np.array([_point(400.0, 200.0, 10.0)]), NO_BOXES, depth, config).sum()
        == 20 * 10
    )


def test_each_points_patch_overwrites_the_label_in_turn():
    """A later point's patch clears what an earlier one set (same row: column order)."""
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    matching, other = _point(700.0, 450.0, 10.0), _point(760.0, 450.0, 20.0)
    label = association_label(np.array([matching, other]), NO_BOXES, depth)
    assert label[450, 600] == 1  # only the first patch covers it
    assert label[450, 700] == 0  # the second patch (no match) came later
    assert label.sum() == 60 * 100  # columns 550..609
    # Visited in row-major pixel order, not in file order: the same label reversed.
    reversed_label = association_label(np.array([other, matching]), NO_BOXES, depth)
    assert np.array_equal(reversed_label, label)


def test_points_are_visited_in_row_major_pixel_order():
    """Published: the radar file is np.nonzero of the radar image, so a point on an
    earlier row is written first whatever the device order was."""
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    lower, upper = _point(700.0, 460.0, 10.0), _point(760.0, 450.0, 20.0)
    for order in ([lower, upper], [upper, lower]):
        label = association_label(np.array(order), NO_BOXES, depth)
        # upper (row 450, no match) first, then lower's whole patch: all ones.
        assert label.sum() == 300 * 100
        assert label[410:510, 550:850].all()


def test_one_point_per_pixel_the_last_one_wins():
    """Two points rounding to one pixel: only the later point of the file gets a patch."""
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    near, far = _point(700.2, 450.1, 10.0), _point(699.8, 449.9, 20.0)
    assert association_label(np.array([near, far]), NO_BOXES, depth).sum() == 0
    assert association_label(np.array([far, near]), NO_BOXES, depth).sum() == 300 * 100


def test_object_points_use_their_box_end_excluded():
    """Published: int() of the box corners as slice bounds, end excluded."""
    depth = np.full((HEIGHT, WIDTH), 10.0, dtype=np.float32)
    boxes = np.array([[100.7, 10.2, 400.9, 90.5], [1500.3, 800.0, 1600.0, 900.0]], np.float32)
    label = association_label(np.array([_point(300.0, 50.0, 10.0, 1.0)]), boxes, depth)
    assert label[10:90, 100:400].all()
    assert label.sum() == 80 * 300  # rows 10..89, columns 100..399
    edge = association_label(np.array([_point(1550.0, 850.0, 10.0, 2.0)]), boxes, depth)
    assert edge.sum() == 100 * 100 and edge[899, 1599] == 1  # to the image's edge


def test_labels_use_the_depth_as_its_png_stores_it():
    """Published labels come from the decoded uint16 PNG (metres rounded to 1/256)."""
    depth = np.full((HEIGHT, WIDTH), 10.0019, dtype=np.float32)  # stored as 2560 / 256 = 10.0
    # unrounded: |10.0019 - 10.401| = 0.3991 < 0.4; stored: 0.401, not a match
    assert association_label(np.array([_point(700.0, 450.0, 10.401)]), NO_BOXES, depth).sum() == 0
    depth = np.full((HEIGHT, WIDTH), 9.9981, dtype=np.float32)  # 2559.51 -> 2560 -> 10.0
    # unrounded: 0.4014, no match; stored: 0.3995, a match
    label = association_label(np.array([_point(700.0, 450.0, 10.3995)]), NO_BOXES, depth)
    assert label.sum() == 300 * 100


def test_stored_depth_is_what_the_png_gives_back(tmp_path):
    rng = np.random.default_rng(0)
    depth = (rng.random((40, 60)) * 120.0).astype(np.float32)
    depth[0, 0], depth[0, 1] = 0.0, 300.0  # empty, beyond the uint16 range
    storage.save_depth_png(tmp_path / "d.png", depth)
    assert np.array_equal(storage.stored_depth(depth), storage.load_depth_png(tmp_path / "d.png"))


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


def test_later_box_wins_by_default_nearest_on_request_and_inside_any():
    """Published: a point inside two boxes takes the later one (it overwrites)."""
    points = np.array([[20.0, 0.9, 0.5]])
    boxes = [_car(20.0, 0.0), _car(20.0, 1.5)]  # both hold the point (y 0.9); 1.5 is nearer
    assert assign_to_boxes(points, boxes, np.zeros(3)).tolist() == [1]
    assert assign_to_boxes(points, boxes[::-1], np.zeros(3)).tolist() == [1]
    assert assign_to_boxes(points, boxes, np.zeros(3), winner="nearest").tolist() == [1]
    assert assign_to_boxes(points, boxes[::-1], np.zeros(3), winner="nearest").tolist() == [0]
    assert inside_any(np.array([[20.0, 0.0, 1.0], [30.0, 0.0, 1.0]]), boxes, 0.3).tolist() == [
        True,
        False,
    ]


def test_radar_boxes_are_exactly_the_seven_published_categories():
    assert RadarOptions().box_categories == RADAR_BOX_CATEGORIES
    assert RadarOptions().box_winner == "later"
    taken = {
        "vehicle.car",
        "vehicle.motorcycle",
        "vehicle.bicycle",
        "vehicle.bus.rigid",
        "vehicle.truck",
        "vehicle.trailer",
        "human.pedestrian.adult",
    }
    left_out = {
        "vehicle.bus.bendy",
        "vehicle.construction",
        "vehicle.emergency.police",
        "vehicle.emergency.ambulance",
        "human.pedestrian.child",
        "human.pedestrian.construction_worker",
        "animal",
        "movable_object.barrier",
        "static_object.bicycle_rack",
    }
    assert all(is_movable(name, RADAR_BOX_CATEGORIES) for name in taken)
    assert not any(is_movable(name, RADAR_BOX_CATEGORIES) for name in left_out)
