"""Is a file what the tables and the index say it is? Checks cheap enough for every run.

- A camera image must decode and have the size its sample_data row gives; a JPEG that is
  garbage or of another size would otherwise pass `prepare` and break training later.
- Each prepared file's byte size is recorded in the index (`sizes`); a rerun of `prepare`
  recomputes a file whose size changed since (truncated or overwritten after prepare).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lircdepth.data.nusc_sources import PrepareInputError
from lircdepth.data.storage import read_index

JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"


def check_camera_image(path: Path, width: int, height: int) -> None:
    """Raise PrepareInputError naming `path` unless it decodes whole to `width` x `height` pixels."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise PrepareInputError(f"camera image {path} cannot be read: {error.strerror}") from error
    if data[:2] == JPEG_START and not data.rstrip(b"\x00").endswith(JPEG_END):
        raise PrepareInputError(f"camera image {path} is truncated (no JPEG end marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise PrepareInputError(f"camera image {path} cannot be decoded (not an image or garbage)")
    found_height, found_width = image.shape[:2]
    if (found_width, found_height) != (width, height):
        raise PrepareInputError(
            f"camera image {path} is {found_width}x{found_height}, its table row says "
            f"{width}x{height}"
        )


def file_sizes(out: Path, record: dict, names: list[str]) -> dict[str, int]:
    """Byte size of each named output of `record` (relative paths resolve against `out`)."""
    return {name: (Path(out) / record[name]).stat().st_size for name in names}


def previous_sizes(index_dir: Path, splits: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """camera token -> recorded output sizes, from the index of an earlier run (if any)."""
    sizes: dict[str, dict[str, int]] = {}
    for split in splits:
        path = Path(index_dir) / f"{split}.txt"
        if path.is_file():
            for record in read_index(path):  # a record it cannot use is recomputed
                recorded = record.get("sizes")
                if isinstance(record.get("camera_token"), str) and isinstance(recorded, dict):
                    sizes[record["camera_token"]] = recorded
    return sizes


def changed_files(out: Path, record: dict, recorded: dict[str, int]) -> list[str]:
    """Names of outputs whose size on disk differs from the size recorded for them."""
    changed = []
    for name, size in recorded.items():
        path = Path(out) / record.get(name, "")
        if path.is_file() and path.stat().st_size != size:
            changed.append(name)
    return changed
