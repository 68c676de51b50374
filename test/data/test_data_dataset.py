"""RadarCameraDataset: shapes, normalisation, and every map staying aligned through crop/flip."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from lircdepth.data import RadarCameraDataset, augment
from lircdepth.geometry import rasterize_radar

MAP_KEYS = (
    "radar",
    "lidar_single",
    "lidar_accum",
    "depth_interp",
    "assoc_label",
    "image",
    "image_raw",
)


def test_train_and_eval_shapes_and_batches(prepared_root):
    torch.manual_seed(0)
    train = RadarCameraDataset(prepared_root, split="train", mode="train", crop_size=(352, 704))
    item = train[0]
    assert item["image"].shape == (3, 352, 704) and item["image"].dtype == torch.float32
    assert item["radar"].shape == (4, 352, 704)
    for key in ("lidar_single", "lidar_accum", "depth_interp", "assoc_label"):
        assert item[key].shape == (1, 352, 704) and item[key].dtype == torch.float32
    assert item["image_raw"].dtype == torch.uint8
    assert set(torch.unique(item["assoc_label"]).tolist()) <= {0.0, 1.0}
    assert isinstance(item["token"], str) and item["camera_matrix"].shape == (3, 3)
    evaluation = RadarCameraDataset(prepared_root, split="val", mode="eval")
    assert evaluation[0]["image"].shape == (3, 384, 704)
    batch = next(iter(DataLoader(train, batch_size=2)))
    assert batch["radar"].shape == (2, 4, 352, 704) and len(batch["token"]) == 2


def test_image_is_imagenet_normalised_raw_pixels(prepared_root):
    item = RadarCameraDataset(prepared_root, split="val", mode="eval")[0]
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    restored = item["image"] * std + mean
    assert torch.allclose(restored, item["image_raw"].float() / 255, atol=1e-5)


def test_eval_mode_drops_the_top_rows_and_shifts_the_principal_point(prepared_root):
    dataset = RadarCameraDataset(prepared_root, split="val", mode="eval")
    stored = dataset.load(0)
    item = dataset[0]
    assert torch.equal(item["lidar_single"][0], torch.from_numpy(stored["lidar_single"][4:]))
    assert np.isclose(item["camera_matrix"][1, 2], stored["camera_matrix"][1, 2] - 4)


def test_flipped_sample_equals_mirrored_unflipped_sample(prepared_root):
    dataset = RadarCameraDataset(prepared_root, split="train", mode="train", augment=False)
    sample = dataset.load(0)
    window = augment.Window(top=20, left=0, height=352, width=704)
    plain = dataset.transform(sample, window, flip=False)
    mirrored = dataset.transform(sample, window, flip=True)
    for key in MAP_KEYS:
        assert torch.equal(mirrored[key], torch.flip(plain[key], dims=[-1])), key
    assert plain["radar"][0].count_nonzero() > 5
    k_plain, k_flip = plain["camera_matrix"], mirrored["camera_matrix"]
    assert torch.isclose(k_flip[0, 2], 703 - k_plain[0, 2])
    assert torch.equal(k_flip[1], k_plain[1]) and k_flip[0, 0] == k_plain[0, 0]


def test_crop_keeps_radar_on_the_same_pixels_as_the_depth_maps(prepared_root):
    """The radar map of a crop is the crop of the full-image radar map, to the edge."""
    dataset = RadarCameraDataset(prepared_root, split="train", mode="train", augment=False)
    sample = dataset.load(0)
    height, width = sample["lidar_single"].shape
    full_radar = rasterize_radar(sample["radar_points"][:, :6].astype(np.float64), height, width)
    window = augment.Window(top=17, left=0, height=352, width=704)
    item = dataset.transform(sample, window, flip=False)
    assert np.array_equal(item["radar"].numpy(), full_radar[:, 17 : 17 + 352])
    assert np.array_equal(item["depth_interp"][0].numpy(), sample["depth_interp"][17 : 17 + 352])


def test_radar_border_test_is_on_the_full_image_not_the_crop(prepared_root):
    """Published: 1 < v < H-1 on the full frame, then crop; points at the crop edge stay."""
    dataset = RadarCameraDataset(prepared_root, split="train", mode="train", augment=False)
    sample = dataset.load(0)
    top = 30
    edge = np.array(
        [
            [100.0, top - 0.3, 12.0, 1.0, 0.0, 0.0, 0.0],  # rounds to row `top`: crop row 0
            [200.0, top + 0.8, 13.0, 2.0, 0.0, 0.0, 0.0],  # rounds to crop row 1
        ],
        dtype=np.float32,
    )
    sample["radar_points"] = edge
    item = dataset.transform(sample, augment.Window(top, 0, 352, 704), flip=False)
    assert item["radar"][0, 0, 100] == 12.0 and item["radar"][0, 1, 200] == 13.0
    assert item["radar"][0].count_nonzero() == 2


def test_radar_rule_last_wins_by_default_and_nearest_on_request(prepared_root):
    sample = RadarCameraDataset(prepared_root, split="train", mode="eval").load(0)
    sample["radar_points"] = np.array(
        [[50.0, 60.0, 8.0, 1.0, 0, 0, 0], [50.2, 59.9, 20.0, 2.0, 0, 0, 0]], np.float32
    )
    window = augment.evaluation_window(*sample["image"].shape[:2])
    for rule, depth in (("last", 20.0), ("nearest", 8.0)):
        dataset = RadarCameraDataset(prepared_root, split="train", mode="eval", radar_rule=rule)
        assert (
            dataset.transform(sample, window, flip=False)["radar"][0, 60 - window.top, 50] == depth
        )


def test_eval_radar_shift_option_reproduces_the_published_rows(prepared_root):
    shifted = RadarCameraDataset(prepared_root, split="val", mode="eval")
    published = RadarCameraDataset(prepared_root, split="val", mode="eval", shift_eval_radar=False)
    sample = shifted.load(0)
    height, width = sample["image"].shape[:2]
    full = rasterize_radar(sample["radar_points"][:, :6], height, width)
    top = height % 32
    assert top == 4 and np.count_nonzero(full[0]) > 5
    assert np.array_equal(shifted[0]["radar"].numpy(), full[:, top:])
    assert np.array_equal(published[0]["radar"].numpy(), full[:, : height - top])
    assert torch.equal(published[0]["image"], shifted[0]["image"])


def test_radar_pixels_sit_on_matching_depth_after_crop_and_flip(prepared_root, synth_root):
    """Radar points and the dense ground truth move together (synthetic radar hits surfaces)."""
    dataset = RadarCameraDataset(prepared_root, split="train", mode="train", augment=False)
    sample = dataset.load(0)
    token = dataset.records[0]["camera_token"]
    truth = np.load(synth_root / "depth_gt" / f"{token}.npy")
    window = augment.Window(top=30, left=0, height=352, width=704)
    sample["depth_interp"] = truth  # carry the true depth through the same transform
    for flip in (False, True):
        item = dataset.transform(sample, window, flip)
        radar_depth = item["radar"][0]
        hit = radar_depth > 0
        true_at_radar = item["depth_interp"][0][hit]
        close = (true_at_radar - radar_depth[hit]).abs() < 0.1 * radar_depth[hit] + 0.5
        assert hit.sum() > 5 and close.float().mean() > 0.6


def test_photometric_stays_in_range_and_changes_the_image():
    torch.manual_seed(1)
    image = np.random.default_rng(0).uniform(0, 1, (8, 8, 3))
    results = [augment.photometric(image) for _ in range(20)]
    assert all(r.min() >= 0 and r.max() <= 1 for r in results)
    assert any(not np.allclose(r, image) for r in results)
    ratios = [r[image > 0.2] / image[image > 0.2] for r in results]
    assert all(np.all((q > 0.75) & (q < 1.35)) for q in ratios)


def test_photometric_one_coin_then_all_three_changes():
    """Published: one p 0.5 coin, then gamma, brightness and colour gains all applied."""
    image = np.random.default_rng(0).uniform(0, 1, (4, 4, 3))
    unchanged = 0
    for seed in range(200):
        torch.manual_seed(seed)
        result = augment.photometric(image)
        torch.manual_seed(seed)
        coin, gamma, brightness, *gains = (float(torch.rand(())) for _ in range(6))
        if coin >= 0.5:
            unchanged += 1
            assert np.array_equal(result, image)
            continue
        gamma, brightness, *gains = (0.9 + 0.2 * x for x in (gamma, brightness, *gains))
        expected = np.clip(image**gamma * brightness * np.array(gains), 0, 1)
        assert np.allclose(result, expected, atol=1e-12)
    assert 70 < unchanged < 130  # three independent coins would leave only 1/8 unchanged
