"""Turn a camera image and radar points into network inputs, and network maps back.

The networks need H and W divisible by 32. The size policy, chosen so that deployment
sees what evaluation scored:

- Rows: the top `H mod 32` rows are dropped, exactly the evaluation convention
  (900 -> 896), so a 900 x 1600 frame gives the same depth as `lircdepth evaluate`.
  Those rows are the top of the image (sky, far away) that the network never sees; in
  the returned full-size map they repeat the first predicted row (nearest neighbour),
  which keeps the map dense and never invents a structure. Uncertainty there is 1.
- Columns: the right side is padded to the next multiple of 32 and cropped off the
  output. Dropping columns would lose the image's edges; the image is padded by
  replicating its last column (a zero pad is the mean colour after normalisation, a
  hard artificial edge the network never saw in training) and the radar map with zeros
  (its meaning: no measurement).

The radar map is always built by `lircdepth.geometry.rasterize_radar` at the full
input size, the same function the Dataset uses, then cropped and padded like the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lircdepth.geometry import project_radar, rasterize_radar

NETWORK_STRIDE = 32
# Method: ImageNet statistics for RGB in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RADAR_POINT_COLUMNS = 6


@dataclass(frozen=True)
class FrameLayout:
    """How an input frame maps onto the network's input (see the module docstring)."""

    height: int
    width: int
    crop_top: int
    pad_right: int

    @property
    def network_height(self) -> int:
        return self.height - self.crop_top

    @property
    def network_width(self) -> int:
        return self.width + self.pad_right


def plan_layout(height: int, width: int) -> FrameLayout:
    """Layout for an H x W frame: drop the top H mod 32 rows, pad W up to a multiple of 32."""
    if height < NETWORK_STRIDE or width < 1:
        raise ValueError(
            f"image must be at least {NETWORK_STRIDE} rows high, got {height} x {width}"
        )
    return FrameLayout(height, width, height % NETWORK_STRIDE, -width % NETWORK_STRIDE)


def check_image(image: np.ndarray) -> np.ndarray:
    """The image as a contiguous H x W x 3 uint8 array, or a ValueError naming the problem."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be H x W x 3 RGB, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB, got dtype {image.dtype}")
    return np.ascontiguousarray(image)


def radar_points_from_inputs(
    radar_points: np.ndarray | None = None,
    points_cam: np.ndarray | None = None,
    features: np.ndarray | None = None,
    camera_matrix: np.ndarray | None = None,
) -> np.ndarray:
    """N x 6 (u, v, depth, rcs, vx, vy) from either projected points or camera-frame points + K.

    Projection of camera-frame points goes through `geometry.project_radar`, the same
    function the ROS node uses.
    """
    if radar_points is not None:
        if points_cam is not None or features is not None or camera_matrix is not None:
            raise ValueError(
                "give either radar_points or points_cam + features + camera_matrix, not both"
            )
        return _check_shape("radar_points", radar_points, (None, RADAR_POINT_COLUMNS))
    if points_cam is None or features is None or camera_matrix is None:
        raise ValueError(
            "radar input missing: give radar_points (N x 6) or points_cam, features and camera_matrix"
        )
    points_cam = _check_shape("points_cam", points_cam, (None, 3))
    features = _check_shape("features", features, (len(points_cam), 3))
    camera_matrix = _check_shape("camera_matrix", camera_matrix, (3, 3))
    return project_radar(points_cam, features, camera_matrix)


def _check_shape(name: str, array: np.ndarray, shape: tuple[int | None, int]) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.size == 0 and shape[0] is None:
        return array.reshape(0, shape[1])
    if array.ndim != 2 or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        wanted = " x ".join("N" if s is None else str(s) for s in shape)
        raise ValueError(f"{name} must be {wanted}, got shape {array.shape}")
    return array


def radar_map(points: np.ndarray, layout: FrameLayout) -> torch.Tensor:
    """4 x h x w radar map at the network size: rasterised at full size, cropped and padded."""
    full = rasterize_radar(points, layout.height, layout.width)
    return F.pad(torch.from_numpy(full[:, layout.crop_top :]), (0, layout.pad_right))


def image_tensor(
    images: list[np.ndarray], layout: FrameLayout, device: torch.device
) -> torch.Tensor:
    """B x 3 x h x w normalised float32 on `device` from uint8 H x W x 3 images.

    The uint8 bytes travel to the device (4x fewer than float) and are normalised there
    in one multiply-add.
    """
    batch = torch.from_numpy(np.stack([image[layout.crop_top :] for image in images]))
    batch = batch.to(device, non_blocking=True).permute(0, 3, 1, 2)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    normalised = torch.addcmul(-mean / std, batch.float(), 1.0 / (255.0 * std))
    if layout.pad_right:
        normalised = F.pad(normalised, (0, layout.pad_right, 0, 0), mode="replicate")
    return normalised


def to_full_size(
    network_map: np.ndarray, layout: FrameLayout, fill_top: float | None = None
) -> np.ndarray:
    """H x W float32 from an h x w network-size map: crop the padding, restore the top rows.

    Restored top rows repeat the first row, or hold `fill_top` when given.
    """
    full = np.empty((layout.height, layout.width), dtype=np.float32)
    full[layout.crop_top :] = network_map[:, : layout.width]
    if layout.crop_top:
        full[: layout.crop_top] = full[layout.crop_top] if fill_top is None else fill_top
    return full
