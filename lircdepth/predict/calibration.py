"""The calibration file of `lircdepth predict` on files: camera matrix, image size, radar mount.

YAML, with the names the ROS side uses (CameraInfo's `k`, `width`, `height`; the node's
`extrinsic.translation` / `extrinsic.rotation_xyzw` for T_camera_from_radar):

    camera_info:
      width: 1600
      height: 900
      k: [1266.4, 0.0, 816.3, 0.0, 1266.4, 491.5, 0.0, 0.0, 1.0]   # or 3 rows of 3
    extrinsic:                      # T_camera_from_radar; only for radar in the radar frame
      translation: [0.0, 0.5, -1.5]
      rotation_xyzw: [0.5, -0.5, 0.5, -0.5]

`K`/`camera_matrix` are accepted for `k`, dotted keys (`extrinsic.translation: [...]`)
for nested ones, and the whole block may sit under the node's `/**: ros__parameters:`.
Every problem is one line naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from lircdepth.errors import BadValueError, MissingPathError
from lircdepth.geometry import make_transform, quaternion_to_matrix

QUATERNION_TOLERANCE = 1e-3


class CalibrationError(BadValueError):
    """A calibration file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Calibration:
    camera_matrix: np.ndarray  # 3 x 3
    width: int
    height: int
    camera_from_radar: np.ndarray | None  # 4 x 4, None: radar points come in the camera frame
    path: str = ""

    def check_image_size(self, image: np.ndarray, where: str) -> None:
        """One line when an image is not the size the calibration's K belongs to."""
        height, width = image.shape[:2]
        if (width, height) != (self.width, self.height):
            raise CalibrationError(
                f"{where} is {width}x{height}, the calibration {self.path} is for "
                f"{self.width}x{self.height} images (K belongs to that size)"
            )


def _flatten(tree: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; dotted keys stay as they are."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _unwrap(tree: dict) -> dict:
    """The parameters inside a node parameter file (`/**: ros__parameters: ...`)."""
    if len(tree) == 1:
        (inner,) = tree.values()
        if isinstance(inner, dict) and isinstance(inner.get("ros__parameters"), dict):
            return inner["ros__parameters"]
    return tree


def _first(flat: dict, names: tuple[str, ...]):
    for name in names:
        if name in flat:
            return name, flat[name]
    return None, None


def _numbers(path: Path, key: str, value, count: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise CalibrationError(
            f"calibration {path}: {key} must be numbers, got {value!r}"
        ) from None
    if array.size != count or not np.all(np.isfinite(array)):
        raise CalibrationError(
            f"calibration {path}: {key} must be {count} finite numbers, got {value!r}"
        )
    return array


def _camera(path: Path, flat: dict) -> tuple[np.ndarray, int, int]:
    k_names = tuple(f"{p}{k}" for p in ("camera_info.", "") for k in ("k", "K", "camera_matrix"))
    key, value = _first(flat, k_names)
    if key is None:
        raise CalibrationError(
            f"calibration {path} has no camera matrix (camera_info.k: 9 numbers)"
        )
    matrix = _numbers(path, key, value, 9).reshape(3, 3)
    if matrix[0, 0] <= 0 or matrix[1, 1] <= 0 or not np.allclose(matrix[2], [0, 0, 1]):
        raise CalibrationError(
            f"calibration {path}: {key} is not a pinhole camera matrix "
            "[fx 0 cx; 0 fy cy; 0 0 1] with fx, fy > 0"
        )
    size = []
    for name in ("width", "height"):
        key, value = _first(flat, (f"camera_info.{name}", name, f"image_{name}"))
        if key is None:
            raise CalibrationError(f"calibration {path} has no image {name} (camera_info.{name})")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CalibrationError(
                f"calibration {path}: {key} must be a whole number of pixels, got {value!r}"
            )
        size.append(value)
    return matrix, size[0], size[1]


def _extrinsic(path: Path, flat: dict) -> np.ndarray | None:
    translation = flat.get("extrinsic.translation")
    rotation = flat.get("extrinsic.rotation_xyzw")
    if translation in (None, []) and rotation in (None, []):
        return None
    if translation in (None, []) or rotation in (None, []):
        missing = "translation" if translation in (None, []) else "rotation_xyzw"
        raise CalibrationError(f"calibration {path}: extrinsic.{missing} is missing")
    t = _numbers(path, "extrinsic.translation", translation, 3)
    xyzw = _numbers(path, "extrinsic.rotation_xyzw", rotation, 4)
    if abs(np.linalg.norm(xyzw) - 1.0) > QUATERNION_TOLERANCE:
        raise CalibrationError(
            f"calibration {path}: extrinsic.rotation_xyzw must be a unit quaternion, got {rotation}"
        )
    wxyz = np.array([xyzw[3], xyzw[0], xyzw[1], xyzw[2]])
    return make_transform(quaternion_to_matrix(wxyz), t)


def read_calibration(path: str | Path) -> Calibration:
    """The calibration in `path` (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise MissingPathError(f"calibration file {path} does not exist")
    try:
        tree = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0]
        raise CalibrationError(f"calibration {path} is not valid YAML: {reason}") from error
    if not isinstance(tree, dict):
        raise CalibrationError(
            f"calibration {path} must be a YAML mapping (camera_info, extrinsic)"
        )
    flat = _flatten(_unwrap(tree))
    matrix, width, height = _camera(path, flat)
    return Calibration(matrix, width, height, _extrinsic(path, flat), str(path))
