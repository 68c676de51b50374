"""On-disk formats of the derived dataset, every write atomic (temp name, then rename).

Depth maps are uint16 PNG in metres x 256 (0 = no value); labels are uint8 PNG;
arrays are .npy; each split's index is JSON Lines (one sample per line).
"""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np

from lircdepth.atomic import write_atomic
from lircdepth.errors import JobError

DEPTH_SCALE = 256.0
MAX_STORED_DEPTH = np.iinfo(np.uint16).max / DEPTH_SCALE


class StorageError(JobError, RuntimeError):
    """A derived-dataset file is missing or unreadable; the message names it."""


def _encode_png(path: Path, image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise StorageError(f"PNG encoding failed for {path}")
    return buffer.tobytes()


def save_depth_png(path: Path, depth: np.ndarray) -> None:
    """Metres -> uint16 PNG (x 256, rounded, clipped to 255.99 m)."""
    scaled = np.round(np.clip(depth, 0.0, MAX_STORED_DEPTH) * DEPTH_SCALE).astype(np.uint16)
    write_atomic(path, _encode_png(path, scaled))


def stored_depth(depth: np.ndarray) -> np.ndarray:
    """float32 metres exactly as `load_depth_png` returns them after `save_depth_png`."""
    scaled = np.round(np.clip(depth, 0.0, MAX_STORED_DEPTH) * DEPTH_SCALE).astype(np.uint16)
    return scaled.astype(np.float32) / DEPTH_SCALE


def save_label_png(path: Path, label: np.ndarray) -> None:
    write_atomic(path, _encode_png(path, label.astype(np.uint8)))


def _read_png(path: Path, dtype: type) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise StorageError(f"cannot read PNG {path} (missing or corrupt)")
    if image.dtype != dtype or image.ndim != 2:
        raise StorageError(f"{path}: expected a one-channel {np.dtype(dtype).name} PNG")
    return image


def load_depth_png(path: Path) -> np.ndarray:
    """uint16 PNG -> float32 metres."""
    return _read_png(path, np.uint16).astype(np.float32) / DEPTH_SCALE


def load_label_png(path: Path) -> np.ndarray:
    return _read_png(path, np.uint8).astype(np.float32)


def save_npy(path: Path, array: np.ndarray) -> None:
    buffer = BytesIO()
    np.save(buffer, array)
    write_atomic(path, buffer.getvalue())


def load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path)
    except (OSError, ValueError, EOFError) as error:
        raise StorageError(f"cannot read array {path}: {error}") from error
    if not isinstance(array, np.ndarray):  # an .npz archive under an .npy name
        raise StorageError(f"cannot read array {path}: not a single .npy array")
    return array


def load_points(path: Path, min_columns: int) -> np.ndarray:
    """An N x C (C >= `min_columns`) array of finite numbers, e.g. a prepared radar file."""
    array = load_npy(path)
    if array.ndim != 2 or array.shape[1] < min_columns or array.dtype.kind not in "fiu":
        raise StorageError(
            f"{path}: expected N x {min_columns}+ numbers, got a {array.dtype} array of shape "
            f"{array.shape}"
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise StorageError(f"{path}: holds NaN or infinite values")
    return array


def load_image_rgb(path: Path) -> np.ndarray:
    """H x W x 3 uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise StorageError(f"cannot read image {path} (missing or corrupt)")
    return image[:, :, ::-1].copy()


def write_index(path: Path, records: list[dict]) -> None:
    lines = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
    write_atomic(path, lines.encode("utf-8"))


def read_index(path: Path) -> list[dict]:
    if not Path(path).is_file():
        raise StorageError(f"index file not found: {path}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StorageError(f"{path}: not a JSON Lines index (not UTF-8 text: {error})") from error
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            raise StorageError(f"{path}:{number}: not a JSON object: {error}") from error
        if not isinstance(record, dict):
            raise StorageError(f"{path}:{number}: not a JSON object (a {type(record).__name__})")
        records.append(record)
    return records


def save_output(path: Path, name: str, array: np.ndarray) -> None:
    """One prepared output file by its kind: radar and boxes as .npy, the association
    label as a label PNG, every depth map as a 16-bit depth PNG."""
    if name in ("radar", "boxes"):
        save_npy(path, array)
    elif name == "assoc_label":
        save_label_png(path, array)
    else:
        save_depth_png(path, array)
