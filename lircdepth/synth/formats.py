"""nuScenes sensor file formats: JPEG images, lidar `.pcd.bin`, radar binary `.pcd`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lircdepth.synth.sensors import RADAR_FIELDS

# Sizes and types of the 18 radar fields, exactly as nuScenes' RADAR_* .pcd headers.
RADAR_SIZES = (4, 4, 4, 1, 2, 4, 4, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1)
RADAR_TYPES = [
    "F",
    "F",
    "F",
    "I",
    "I",
    "F",
    "F",
    "F",
    "F",
    "F",
    "I",
    "I",
    "I",
    "I",
    "I",
    "I",
    "I",
    "I",
]
_NUMPY_TYPE = {("F", 4): "<f4", ("I", 1): "i1", ("I", 2): "<i2"}
RADAR_DTYPE = np.dtype(
    [(n, _NUMPY_TYPE[t, s]) for n, t, s in zip(RADAR_FIELDS, RADAR_TYPES, RADAR_SIZES, strict=True)]
)


def write_jpeg(path: Path, image_rgb: np.ndarray, quality: int) -> None:
    ok, buffer = cv2.imencode(".jpg", image_rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {path}")
    path.write_bytes(buffer.tobytes())


def write_lidar_bin(path: Path, cloud: np.ndarray) -> None:
    """N x 5 float32 (x, y, z, intensity, ring), the layout LidarPointCloud.from_file reads."""
    path.write_bytes(np.ascontiguousarray(cloud, dtype="<f4").tobytes())


def write_radar_pcd(path: Path, fields: np.ndarray) -> None:
    """18 x N radar fields as a binary PCD v0.7 file with nuScenes' header.

    An empty sweep is written as one all-NaN point, nuScenes' convention. One trailing
    newline follows the binary block, as the devkit's reader expects bytes after the
    last field.
    """
    fields = np.asarray(fields, dtype=np.float64)
    if fields.shape[1] == 0:
        fields = np.full((18, 1), np.nan)
        fields[3:5] = 0
        fields[10:] = 0
    records = np.zeros(fields.shape[1], dtype=RADAR_DTYPE)
    for row, name in enumerate(RADAR_FIELDS):
        records[name] = fields[row]
    header = "\n".join(
        [
            "# .PCD v0.7 - Point Cloud Data file format",
            "VERSION 0.7",
            "FIELDS " + " ".join(RADAR_FIELDS),
            "SIZE " + " ".join(str(s) for s in RADAR_SIZES),
            "TYPE " + " ".join(RADAR_TYPES),
            "COUNT " + " ".join("1" for _ in RADAR_FIELDS),
            f"WIDTH {len(records)}",
            "HEIGHT 1",
            "VIEWPOINT 0 0 0 1 0 0 0",
            f"POINTS {len(records)}",
            "DATA binary",
        ]
    )
    path.write_bytes(header.encode() + b"\n" + records.tobytes() + b"\n")


def write_blank_map(path: Path) -> None:
    """The map table names a raster prior; the world has none, so write an empty mask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((8, 8), dtype=np.uint8))
