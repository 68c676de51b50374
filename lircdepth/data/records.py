"""What one sample record of a prepared split index must hold, checked when the index is read.

Checked in the main process when a dataset opens, so a damaged index fails at once with
its file and line named, not deep in a DataLoader worker or as a wrong crop.
"""

from __future__ import annotations

import math
from pathlib import Path

from lircdepth.data.storage import StorageError

PATH_KEYS = ("image", "radar", "assoc_label", "lidar_single", "lidar_accum", "depth_interp")
TEXT_KEYS = ("camera_token", "sample_token", "scene_token")
SIZE_KEYS = ("height", "width")


def _is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _camera_matrix_problem(matrix: object) -> str | None:
    rows = matrix if isinstance(matrix, list) else None
    if rows is None or len(rows) != 3 or any(not isinstance(r, list) or len(r) != 3 for r in rows):
        return f"camera_matrix must be 3 x 3 numbers, got {str(matrix)[:60]}"
    values = [v for row in rows for v in row]
    if not all(_is_finite_number(v) for v in values):
        return "camera_matrix holds a value that is not a finite number"
    if not (values[0] > 0 and values[4] > 0):
        return "camera_matrix focal lengths (fx, fy) must be above 0"
    return None


def record_problem(record: object) -> str | None:
    """What is wrong with one index record (None: usable)."""
    if not isinstance(record, dict):
        return f"a sample record must be a JSON object, got a JSON {type(record).__name__}"
    missing = [k for k in (*PATH_KEYS, *TEXT_KEYS, *SIZE_KEYS, "camera_matrix") if k not in record]
    if missing:
        return f"sample record lacks {', '.join(missing)}"
    for key in (*PATH_KEYS, *TEXT_KEYS):
        if not isinstance(record[key], str) or not record[key]:
            return f"{key} must be a non-empty string, got {record[key]!r:.60}"
    for key in SIZE_KEYS:
        value = record[key]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 1 << 16:
            return f"{key} must be a whole number of pixels above 0, got {value!r:.60}"
    return _camera_matrix_problem(record["camera_matrix"])


def check_records(records: list, path: Path) -> list[dict]:
    """`records` unchanged if every one is usable; else StorageError naming the file and line."""
    for number, record in enumerate(records, 1):
        problem = record_problem(record)
        if problem is not None:
            raise StorageError(f"{path}: record {number}: {problem}")
    return records
