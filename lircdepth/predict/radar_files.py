"""Radar points of one image from a file: nuScenes `.pcd`, other PCD files, `.npy` or `.csv`.

Every reader returns `RadarSweep(xyz N x 3, features N x 3 = rcs, vx, vy)`. Columns are
found by name where the file has names (PCD FIELDS, a CSV header, a structured .npy);
a plain N x 6 array or header-less CSV is read as x, y, z, rcs, vx, vy. A nuScenes radar
PCD goes through the devkit reader exactly as `lircdepth prepare` reads it (every point,
no state filter). Wrong or missing columns are one line naming the file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lircdepth.errors import BadValueError, MissingPathError
from lircdepth.synth.sensors import RADAR_FIELDS

COLUMNS = ("x", "y", "z", "rcs", "vx", "vy")
SUFFIXES = (".pcd", ".npy", ".csv")
# The FIELDS line of a nuScenes radar PCD (RadarPointCloud's 18 rows).
NUSCENES_FIELDS = list(RADAR_FIELDS)
PCD_TYPES = {
    ("F", 4): "f4",
    ("F", 8): "f8",
    ("I", 1): "i1",
    ("I", 2): "i2",
    ("I", 4): "i4",
    ("I", 8): "i8",
    ("U", 1): "u1",
    ("U", 2): "u2",
    ("U", 4): "u4",
    ("U", 8): "u8",
}


class RadarFileError(BadValueError):
    """A radar file that cannot be read as x, y, z, rcs, vx, vy points; names the file."""


@dataclass
class RadarSweep:
    xyz: np.ndarray  # N x 3 float64
    features: np.ndarray  # N x 3 float64: rcs, vx, vy


def _from_columns(path: Path, columns: dict[str, np.ndarray]) -> RadarSweep:
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        raise RadarFileError(
            f"radar file {path} has no column(s) {', '.join(missing)} (it has: "
            f"{', '.join(columns) or 'none'}); needed: {', '.join(COLUMNS)}"
        )
    table = np.column_stack([np.asarray(columns[name], dtype=np.float64) for name in COLUMNS])
    table = table.reshape(-1, len(COLUMNS))
    finite = np.isfinite(table).all(axis=1)
    return RadarSweep(table[finite, :3], table[finite, 3:])


def _from_matrix(path: Path, table: np.ndarray) -> RadarSweep:
    table = np.asarray(table)
    if table.size == 0:
        table = table.reshape(0, len(COLUMNS))
    if table.ndim != 2 or table.shape[1] != len(COLUMNS):
        raise RadarFileError(
            f"radar file {path} must hold N x {len(COLUMNS)} values ({', '.join(COLUMNS)}), "
            f"got shape {table.shape}"
        )
    if not np.issubdtype(table.dtype, np.number):
        raise RadarFileError(f"radar file {path} holds {table.dtype}, not numbers")
    return _from_columns(path, dict(zip(COLUMNS, table.T, strict=True)))


def read_npy(path: Path) -> RadarSweep:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise RadarFileError(f"radar file {path} is not a readable .npy array: {error}") from error
    if array.dtype.names:
        return _from_columns(path, {name: array[name] for name in array.dtype.names})
    return _from_matrix(path, array)


def read_csv(path: Path) -> RadarSweep:
    try:
        rows = [row for row in csv.reader(path.read_text().splitlines()) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RadarFileError(f"radar file {path} is not a readable CSV: {error}") from error
    if not rows:
        return _from_matrix(path, np.zeros((0, len(COLUMNS))))
    header = None
    try:
        [float(value) for value in rows[0]]
    except ValueError:
        header, rows = [name.strip() for name in rows[0]], rows[1:]
    try:
        table = np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
    except ValueError as error:
        raise RadarFileError(f"radar file {path}: a value is not a number ({error})") from error
    width = len(header) if header else len(COLUMNS)
    if table.size and (table.ndim != 2 or table.shape[1] != width):
        raise RadarFileError(
            f"radar file {path}: rows must have {width} values"
            + ("" if header else f" ({', '.join(COLUMNS)}; or add a header naming the columns)")
        )
    if header is None:
        return _from_matrix(path, table)
    table = table.reshape(-1, width)
    return _from_columns(path, {name: table[:, i] for i, name in enumerate(header)})


def _pcd_header(path: Path) -> tuple[dict[str, list[str]], int]:
    """The PCD header lines (key -> values) and the byte offset of the data."""
    data = path.read_bytes()
    header: dict[str, list[str]] = {}
    offset = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        end = len(data) if end < 0 else end
        line = data[offset:end].decode("ascii", errors="replace").strip()
        offset = end + 1
        if not line or line.startswith("#"):
            continue
        key, *values = line.split()
        header[key.upper()] = values
        if key.upper() == "DATA":
            return header, offset
    raise RadarFileError(f"radar file {path} is not a PCD file (no DATA line in its header)")


def read_pcd(path: Path) -> RadarSweep:
    header, offset = _pcd_header(path)
    fields = header.get("FIELDS", [])
    if fields == NUSCENES_FIELDS:
        from lircdepth.data.nusc_sources import (
            RADAR_RCS_ROW,
            RADAR_VX_ROW,
            RADAR_VY_ROW,
            load_radar,
        )

        rows = load_radar(path, "none")
        return RadarSweep(
            rows[:3].T.astype(np.float64),
            rows[[RADAR_RCS_ROW, RADAR_VX_ROW, RADAR_VY_ROW]].T.astype(np.float64),
        )
    sizes, types = header.get("SIZE", []), header.get("TYPE", [])
    counts = header.get("COUNT", ["1"] * len(fields))
    if not (len(fields) == len(sizes) == len(types) == len(counts)):
        raise RadarFileError(
            f"radar file {path}: PCD FIELDS, SIZE, TYPE and COUNT differ in length"
        )
    try:
        dtype = np.dtype(
            [
                (name, PCD_TYPES[(kind.upper(), int(size))], (int(count),))
                for name, size, kind, count in zip(fields, sizes, types, counts, strict=True)
            ]
        )
    except (KeyError, ValueError, TypeError) as error:
        raise RadarFileError(f"radar file {path}: unsupported PCD field type ({error})") from error
    mode = (header.get("DATA") or ["?"])[0].lower()
    raw = path.read_bytes()[offset:]
    if mode == "binary":
        declared = header.get("POINTS")
        points = int(declared[0]) if declared else len(raw) // dtype.itemsize
        if len(raw) < points * dtype.itemsize:
            raise RadarFileError(f"radar file {path} is truncated ({points} points announced)")
        array = np.frombuffer(raw, dtype=dtype, count=points)
        columns = {name: array[name][:, 0] for name in fields}
    elif mode == "ascii":
        text = raw.decode("ascii", errors="replace").split()
        table = np.asarray(text, dtype=np.float64).reshape(-1, sum(int(c) for c in counts))
        starts = np.cumsum([0] + [int(c) for c in counts])
        columns = {name: table[:, starts[i]] for i, name in enumerate(fields)}
    else:
        raise RadarFileError(f"radar file {path}: PCD DATA {mode} is not supported (ascii, binary)")
    return _from_columns(path, columns)


READERS = {".pcd": read_pcd, ".npy": read_npy, ".csv": read_csv}


def read_radar_file(path: str | Path) -> RadarSweep:
    """The radar points in `path`, by its suffix (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise MissingPathError(f"radar file {path} does not exist")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise RadarFileError(
            f"radar file {path}: unknown type {path.suffix!r} (use {', '.join(SUFFIXES)})"
        )
    return reader(path)
