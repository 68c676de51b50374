"""`RadarCameraDataset`: the derived dataset as aligned tensors for training and evaluation.

Every map of a sample goes through the same crop and flip. The radar map is rasterised
on the full image by the shared `geometry.rasterize_radar` (border test and pixel rule on
the full frame, as published) and then cropped like the depth maps, so it matches what
inference and the ROS node build.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch.utils.data import Dataset

from lircdepth.data import augment, storage
from lircdepth.data.records import check_records
from lircdepth.geometry import DEFAULT_RADAR_RULE, check_radar_rule, rasterize_radar

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
DEPTH_MAPS = ("lidar_single", "lidar_accum", "depth_interp")
RADAR_MAP_COLUMNS = 6  # u, v, depth, rcs, vx, vy (the saved 7th column is the object index)


def crop_and_flip(image: np.ndarray, window: augment.Window, flip: bool) -> np.ndarray:
    """Crop the first two axes (H x W or H x W x C) and mirror the columns when `flip`."""
    image = window.apply(image)
    return np.ascontiguousarray(image[:, ::-1] if flip else image)


class RadarCameraDataset(Dataset):
    """Samples of one split of a prepared dataset (see `lircdepth.data.prepare`).

    mode "train": random crop of `crop_size` (H, W); with `augment`, horizontal flip and
    photometric changes. mode "eval": the full image minus its top H mod 32 rows.
    Keys: image, radar, lidar_single, lidar_accum, depth_interp, assoc_label,
    camera_matrix, token, plus image_raw (3 x H x W uint8 RGB after crop/flip, before
    photometric changes, for visualisation), sample_token and scene_token.

    `radar_rule` picks the point that wins a radar pixel ("last", published; "nearest").
    `shift_eval_radar` (default, geometrically right) moves the radar map up with the
    image when eval drops the top rows; False reproduces the published code, which keeps
    the radar map's rows 0..h-1 of the full frame (points 4 rows too low at 900 rows).
    """

    def __init__(
        self,
        root: Path,
        split: str = "train",
        mode: str = "train",
        crop_size: tuple[int, int] = (352, 704),
        augment: bool = True,
        radar_rule: str = DEFAULT_RADAR_RULE,
        shift_eval_radar: bool = True,
    ) -> None:
        if mode not in ("train", "eval"):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        self.root = Path(root)
        index = self.root / "index" / f"{split}.txt"
        self.records = check_records(storage.read_index(index), index)
        self.mode, self.augment = mode, augment
        self.crop_size = cast("tuple[int, int]", tuple(crop_size))
        self.radar_rule = check_radar_rule(radar_rule)
        self.shift_eval_radar = shift_eval_radar

    def __len__(self) -> int:
        return len(self.records)

    def _path(self, relative: str) -> Path:
        return self.root / relative

    def load(self, index: int) -> dict[str, np.ndarray]:
        """The stored sample, uncropped: image H x W x 3 uint8, maps H x W, points N x 7."""
        record = self.records[index]
        sample = {
            "image": storage.load_image_rgb(self._path(record["image"])),
            "radar_points": storage.load_points(self._path(record["radar"]), RADAR_MAP_COLUMNS),
            "assoc_label": storage.load_label_png(self._path(record["assoc_label"])),
            "camera_matrix": np.asarray(record["camera_matrix"], dtype=np.float64),
        }
        for name in DEPTH_MAPS:
            sample[name] = storage.load_depth_png(self._path(record[name]))
        self._check_sizes(record, sample)
        return sample

    def _check_sizes(self, record: dict, sample: dict[str, np.ndarray]) -> None:
        """Every map must have the size the index records, or crops and batches go wrong far
        from the cause; name the file that differs."""
        wanted = (record["height"], record["width"])
        for name in ("image", "assoc_label", *DEPTH_MAPS):
            found = sample[name].shape[:2]
            if found != wanted:
                raise storage.StorageError(
                    f"{self._path(record[name])} is {found[1]}x{found[0]}, the index says "
                    f"{wanted[1]}x{wanted[0]} (file replaced or damaged after prepare?)"
                )
        if self.mode == "train" and (
            wanted[0] < self.crop_size[0] or wanted[1] < self.crop_size[1]
        ):
            raise storage.StorageError(
                f"{self._path(record['image'])} is {wanted[1]}x{wanted[0]}, smaller than the "
                f"training crop {self.crop_size[1]}x{self.crop_size[0]} (--input_width/--input_height)"
            )

    def _window(self, height: int, width: int) -> augment.Window:
        if self.mode == "train":
            return augment.random_window(height, width, self.crop_size)
        return augment.evaluation_window(height, width)

    def __getitem__(self, index: int) -> dict:
        record = self.records[index]
        sample = self.load(index)
        height, width = sample["image"].shape[:2]
        window = self._window(height, width)
        flip = self.mode == "train" and self.augment and augment.draw_flip()
        return self.transform(sample, window, flip) | {
            "token": record["camera_token"],
            "sample_token": record["sample_token"],
            "scene_token": record["scene_token"],
        }

    def transform(self, sample: dict[str, np.ndarray], window: augment.Window, flip: bool) -> dict:
        """Crop, flip and convert one loaded sample (deterministic given window and flip)."""

        def crop(image: np.ndarray) -> np.ndarray:
            return crop_and_flip(image, window, flip)

        image_raw = crop(sample["image"])
        image = image_raw.astype(np.float32) / 255.0
        if self.mode == "train" and self.augment:
            image = augment.photometric(image)
        image = (image - IMAGENET_MEAN) / IMAGENET_STD
        maps = {
            name: torch.from_numpy(crop(sample[name]).astype(np.float32))[None]
            for name in (*DEPTH_MAPS, "assoc_label")
        }
        camera_matrix = augment.move_camera_matrix(sample["camera_matrix"], window, flip)
        return {
            "image": torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32)),
            "image_raw": torch.from_numpy(image_raw.transpose(2, 0, 1).copy()),
            "radar": torch.from_numpy(self._radar_map(sample, window, flip)),
            **maps,
            "camera_matrix": torch.from_numpy(camera_matrix.astype(np.float32)),
        }

    def _radar_map(
        self, sample: dict[str, np.ndarray], window: augment.Window, flip: bool
    ) -> np.ndarray:
        """4 x h x w: rasterised on the full frame, then cropped (and flipped) like the maps."""
        height, width = sample["image"].shape[:2]
        points = sample["radar_points"][:, :RADAR_MAP_COLUMNS]
        full = rasterize_radar(points, height, width, self.radar_rule).transpose(1, 2, 0)
        if self.mode == "eval" and not self.shift_eval_radar:
            window = dataclasses.replace(window, top=0)
        return crop_and_flip(full, window, flip).transpose(2, 0, 1).copy()
