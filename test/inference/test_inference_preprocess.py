"""Size policy, normalisation, radar inputs and their errors (no network involved)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lircdepth.inference import preprocess


def test_layout_drops_top_rows_and_pads_columns():
    layout = preprocess.plan_layout(900, 1600)
    assert (layout.crop_top, layout.pad_right, layout.network_height, layout.network_width) == (
        4,
        0,
        896,
        1600,
    )
    odd = preprocess.plan_layout(101, 150)
    assert (odd.crop_top, odd.pad_right, odd.network_height, odd.network_width) == (5, 10, 96, 160)


def test_too_small_image_is_rejected():
    with pytest.raises(ValueError, match="at least 32 rows"):
        preprocess.plan_layout(31, 64)


def test_image_tensor_normalises_and_replicates_the_right_edge():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 40, 3), dtype=np.uint8)
    layout = preprocess.plan_layout(37, 40)
    tensor = preprocess.image_tensor([image], layout, torch.device("cpu"))[0].numpy()
    mean, std = np.array(preprocess.IMAGENET_MEAN), np.array(preprocess.IMAGENET_STD)
    expected = ((image[5:] / 255.0 - mean) / std).transpose(2, 0, 1)
    assert tensor.shape == (3, 32, 64)
    np.testing.assert_allclose(tensor[:, :, :40], expected, atol=1e-5)
    np.testing.assert_allclose(
        tensor[:, :, 40:], np.repeat(expected[:, :, 39:40], 24, axis=2), atol=1e-5
    )


def test_radar_map_is_cropped_with_the_image_and_zero_padded():
    layout = preprocess.plan_layout(40, 50)  # crop 8 rows, pad 14 columns
    points = np.array([[10.0, 20.0, 5.0, 1.0, 2.0, 3.0], [12.0, 3.0, 7.0, 0.0, 0.0, 0.0]])
    radar = preprocess.radar_map(points, layout).numpy()
    assert radar.shape == (4, 32, 64)
    np.testing.assert_array_equal(radar[:, 12, 10], [5.0, 1.0, 2.0, 3.0])
    assert np.count_nonzero(radar[0]) == 1  # the second point sits in the dropped rows


def test_to_full_size_restores_top_rows_and_crops_padding():
    layout = preprocess.plan_layout(37, 40)
    network = np.arange(32 * 64, dtype=np.float32).reshape(32, 64)
    full = preprocess.to_full_size(network, layout)
    assert full.shape == (37, 40) and full.dtype == np.float32
    np.testing.assert_array_equal(full[5:], network[:, :40])
    np.testing.assert_array_equal(full[:5], np.broadcast_to(network[0, :40], (5, 40)))
    np.testing.assert_array_equal(preprocess.to_full_size(network, layout, fill_top=1.0)[:5], 1.0)


def test_camera_frame_points_are_projected_with_k():
    points_cam = np.array([[1.0, -0.5, 10.0], [-2.0, 0.3, 20.0]])
    features = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    k = np.array([[500.0, 0.0, 320.0], [0.0, 510.0, 200.0], [0.0, 0.0, 1.0]])
    projected = preprocess.radar_points_from_inputs(
        points_cam=points_cam, features=features, camera_matrix=k
    )
    u = 500.0 * points_cam[:, 0] / points_cam[:, 2] + 320.0
    v = 510.0 * points_cam[:, 1] / points_cam[:, 2] + 200.0
    np.testing.assert_allclose(projected, np.column_stack([u, v, points_cam[:, 2], features]))


def test_empty_radar_is_allowed():
    assert preprocess.radar_points_from_inputs(np.zeros((0,))).shape == (0, 6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"radar_points": np.zeros((3, 5))}, "radar_points must be N x 6"),
        ({"points_cam": np.zeros((3, 3)), "features": np.zeros((3, 3))}, "radar input missing"),
        (
            {
                "points_cam": np.zeros((3, 3)),
                "features": np.zeros((2, 3)),
                "camera_matrix": np.eye(3),
            },
            "features must be 3 x 3",
        ),
        (
            {
                "points_cam": np.zeros((3, 3)),
                "features": np.zeros((3, 3)),
                "camera_matrix": np.eye(4),
            },
            "camera_matrix must be 3 x 3",
        ),
        ({"radar_points": np.zeros((1, 6)), "camera_matrix": np.eye(3)}, "not both"),
    ],
)
def test_bad_radar_inputs_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        preprocess.radar_points_from_inputs(**kwargs)


@pytest.mark.parametrize(
    ("image", "message"),
    [(np.zeros((40, 40), np.uint8), "H x W x 3"), (np.zeros((40, 40, 3), np.float32), "uint8")],
)
def test_bad_images_are_rejected(image, message):
    with pytest.raises(ValueError, match=message):
        preprocess.check_image(image)
