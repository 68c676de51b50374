"""The nuScenes tables the project reads, checked at the door: shape, keys, references, values.

The devkit trusts its JSON files; a table with a syntax error, of the wrong shape or
without a key ends in an AssertionError, KeyError or TypeError deep inside it or, worse,
later inside `prepare`. `table_problems` names the first problem (file, row, key) of
tables already parsed (the devkit's, after it loaded); `diagnose_folder` re-reads the
files when the devkit itself failed on them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import cast

# table -> keys every row must have (what the devkit's index and the project use).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "category": ("token", "name"),
    "attribute": ("token", "name"),
    "visibility": ("token",),
    "instance": ("token", "category_token"),
    "sensor": ("token", "channel", "modality"),
    "calibrated_sensor": ("token", "sensor_token", "translation", "rotation", "camera_intrinsic"),
    "ego_pose": ("token", "translation", "rotation", "timestamp"),
    "log": ("token",),
    "scene": ("token", "name", "first_sample_token", "nbr_samples", "log_token"),
    "sample": ("token", "scene_token", "timestamp", "prev", "next"),
    "sample_data": (
        "token",
        "sample_token",
        "ego_pose_token",
        "calibrated_sensor_token",
        "filename",
        "timestamp",
        "is_key_frame",
        "prev",
        "next",
    ),
    "sample_annotation": (
        "token",
        "sample_token",
        "instance_token",
        "translation",
        "size",
        "rotation",
    ),
    "map": ("token", "log_tokens"),
}

# (table, key, referenced table): every such token must exist there.
REFERENCES = (
    ("instance", "category_token", "category"),
    ("calibrated_sensor", "sensor_token", "sensor"),
    ("scene", "first_sample_token", "sample"),
    ("scene", "log_token", "log"),
    ("sample", "scene_token", "scene"),
    ("sample_data", "sample_token", "sample"),
    ("sample_data", "ego_pose_token", "ego_pose"),
    ("sample_data", "calibrated_sensor_token", "calibrated_sensor"),
    ("sample_annotation", "sample_token", "sample"),
    ("sample_annotation", "instance_token", "instance"),
)


def _finite_numbers(value: object, count: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == count
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )


def _pose_problem(row: Mapping) -> str | None:
    if not _finite_numbers(row["translation"], 3):
        return f"translation must be 3 finite numbers, got {str(row['translation'])[:60]}"
    if not _finite_numbers(row["rotation"], 4) or not any(row["rotation"]):
        return f"rotation must be a quaternion of 4 finite numbers, got {str(row['rotation'])[:60]}"
    return None


def _intrinsic_problem(row: Mapping) -> str | None:
    matrix = row["camera_intrinsic"]
    if matrix in ([], None):  # not a camera (checked against the sensor's modality below)
        return None
    if not (
        isinstance(matrix, list) and len(matrix) == 3 and all(_finite_numbers(r, 3) for r in matrix)
    ):
        return f"camera_intrinsic must be 3 x 3 finite numbers, got {str(matrix)[:60]}"
    if not (matrix[0][0] > 0 and matrix[1][1] > 0):
        return "camera_intrinsic focal lengths must be above 0"
    return None


# table -> value check of one row (small tables only: the big ones are checked for keys).
VALUE_CHECKS: dict[str, Callable[[Mapping], str | None]] = {
    "calibrated_sensor": lambda row: _pose_problem(row) or _intrinsic_problem(row),
}


def _json_kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _rows_problem(name: str, rows: object) -> str | None:
    """Shape and keys of one table (a fast pass; the slow one only names what is wrong)."""
    if not isinstance(rows, list):
        return f"must be a JSON list of objects, got a JSON {_json_kind(rows)}"
    wanted = frozenset(TABLE_KEYS[name])
    check = VALUE_CHECKS.get(name)
    for number, row in enumerate(rows, 1):
        if (
            type(row) is dict
            and row.keys() >= wanted
            and type(row["token"]) is str
            and (check is None or check(row) is None)
        ):
            continue
        return _row_problem(name, number, row)
    return None


def _row_problem(name: str, number: int, row: object) -> str:
    """What is wrong with a row the fast pass refused."""
    if not isinstance(row, dict):
        return f"row {number} must be a JSON object, got {str(row)[:40]}"
    missing = [key for key in TABLE_KEYS[name] if key not in row]
    if missing:
        return f"row {number} (token {row.get('token', '?')!s:.40}) lacks {', '.join(missing)}"
    if not isinstance(row["token"], str):
        return f"row {number}: token must be a string, got {row['token']!r:.40}"
    return f"row {number} (token {row['token']:.40}): {VALUE_CHECKS[name](row)}"


def _camera_problems(tables: Mapping[str, Sequence[Mapping]]) -> tuple[str, str] | None:
    """A camera's calibrated_sensor must carry its intrinsics (prepare projects with them)."""
    cameras = {s["token"] for s in tables["sensor"] if s["modality"] == "camera"}
    for number, row in enumerate(tables["calibrated_sensor"], 1):
        if row["sensor_token"] in cameras and row["camera_intrinsic"] in ([], None):
            return (
                "calibrated_sensor",
                f"row {number} (token {row['token']:.40}): a camera without camera_intrinsic",
            )
    return None


def _reference_problem(tables: Mapping[str, Sequence[Mapping]]) -> tuple[str, str] | None:
    targets = {target for _, _, target in REFERENCES}
    tokens = {name: {row["token"] for row in tables[name]} for name in targets}
    for table, key, target in REFERENCES:
        if {row[key] for row in tables[table]} <= tokens[target]:
            continue
        for number, row in enumerate(tables[table], 1):  # name the first dangling one
            if row[key] not in tokens[target]:
                return table, f"row {number}: {key} {row[key]!s:.40} is not a token of {target}"
    return None


def table_problems(tables: Mapping[str, object]) -> tuple[str, str] | None:
    """(table, what is wrong) of the first problem in parsed `tables`, or None."""
    for name in TABLE_KEYS:
        problem = _rows_problem(name, tables[name])
        if problem:
            return name, problem
    rows = cast("Mapping[str, Sequence[Mapping]]", tables)  # each table checked just above
    return _camera_problems(rows) or _reference_problem(rows)


def diagnose_folder(table_dir: Path) -> str | None:
    """'FILE: what is wrong' for the first unreadable or malformed table file, or None."""
    tables: dict[str, object] = {}
    for name in TABLE_KEYS:
        path = Path(table_dir) / f"{name}.json"
        try:
            tables[name] = json.loads(path.read_bytes())
        except FileNotFoundError:
            return f"{path}: table missing"
        except (ValueError, RecursionError) as error:  # JSONDecodeError, bad UTF-8
            return f"{path}: not valid JSON ({error})"
    found = table_problems(tables)
    return None if found is None else f"{Path(table_dir) / found[0]}.json: {found[1]}"
