"""What `lircdepth predict` writes per frame, and how a rerun knows a frame is done.

Per frame `<name>` under the output folder:

    <name>.png              uint16 depth, millimetres (0 = no value; beyond 65.535 m: 0),
                            or metres x 256 with `png_units="kitti256"` (the scale of the
                            derived dataset's depth maps, up to 255.99 m)
    <name>.npy              float32 depth in metres, full range
    <name>_color.png        colourised depth (turbo, 0 to the model's max depth), optional
    <name>_uncertainty.npy  float32 in [0, 1] (teacher only: 1 - confidence), optional
    <name>.json             the input it came from, the files written: written last

Every file is written atomically; the `.json` record comes last and lists the files, so
a frame is complete exactly when its record exists and names every output asked for
(a rerun that asks for more outputs redoes the frames that lack them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np

from lircdepth.atomic import write_atomic, write_json_atomic
from lircdepth.errors import JobError

PNG_UNITS = {"mm": 1000.0, "kitti256": 256.0}
UINT16_MAX = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class OutputOptions:
    png: bool = True
    npy: bool = True
    color: bool = False
    uncertainty: bool = False
    png_units: str = "mm"

    def kinds(self, has_uncertainty: bool) -> list[str]:
        wanted = [k for k in ("png", "npy", "color") if getattr(self, k)]
        if self.uncertainty and has_uncertainty:
            wanted.append("uncertainty")
        return wanted


SUFFIX = {"png": ".png", "npy": ".npy", "color": "_color.png", "uncertainty": "_uncertainty.npy"}


def output_file(out: Path, name: str, kind: str) -> Path:
    return Path(out) / f"{name}{SUFFIX[kind]}"


def record_file(out: Path, name: str) -> Path:
    return Path(out) / f"{name}.json"


def is_complete(out: Path, name: str, kinds: list[str]) -> bool:
    """The frame's record exists, lists every wanted output, and those files exist."""
    path = record_file(out, name)
    try:
        written = json.loads(path.read_text()).get("files", {})
    except (OSError, ValueError, AttributeError):
        return False
    return all(kind in written and output_file(out, name, kind).is_file() for kind in kinds)


def depth_png(depth: np.ndarray, units: str) -> np.ndarray:
    """uint16 depth image: metres x scale, rounded; out of range or not finite -> 0."""
    scaled = np.round(np.nan_to_num(depth, nan=0.0, posinf=0.0) * PNG_UNITS[units])
    scaled[(scaled > UINT16_MAX) | (scaled < 0)] = 0
    return scaled.astype(np.uint16)


def _png_bytes(path: Path, image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise JobError(f"PNG encoding failed for {path}")
    return buffer.tobytes()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_frame(
    out: Path,
    name: str,
    depth: np.ndarray,
    uncertainty: np.ndarray | None,
    options: OutputOptions,
    max_depth: float,
    source: dict,
) -> dict:
    """Write one frame's outputs, then its record; returns the record."""
    from lircdepth.visualize import colorize

    files = {}
    for kind in options.kinds(uncertainty is not None):
        path = output_file(out, name, kind)
        if kind == "png":
            data = _png_bytes(path, depth_png(depth, options.png_units))
        elif kind == "npy":
            data = _npy_bytes(depth.astype(np.float32))
        elif kind == "color":
            data = _png_bytes(path, cv2.cvtColor(colorize(depth, max_depth), cv2.COLOR_RGB2BGR))
        else:
            assert uncertainty is not None  # kinds() lists it only then
            data = _npy_bytes(uncertainty.astype(np.float32))
        write_atomic(path, data)
        files[kind] = path.name
    valid = depth[np.isfinite(depth) & (depth > 0)]
    record = {
        "name": name,
        "source": source,
        "files": files,
        "height": int(depth.shape[0]),
        "width": int(depth.shape[1]),
        "depth_min": float(valid.min()) if valid.size else None,
        "depth_max": float(valid.max()) if valid.size else None,
        "png_units": options.png_units,
    }
    write_json_atomic(record_file(out, name), record)
    return record
