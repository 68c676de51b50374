"""Radar -> camera extrinsic for one synchronised pair: from TF, else from parameters/YAML.

TF gives the radar frame at the radar stamp and the camera frame at the image stamp,
travelling through a fixed frame (e.g. `odom`) when one is configured, which
compensates the vehicle's motion between the two stamps. A rig without TF can give the
extrinsic as parameters (`extrinsic.translation`, `extrinsic.rotation_xyzw`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.transform import Rotation

from lircdepth.geometry import make_transform
from lircdepth_ros.tf_buffer import TransformError


def extrinsic_from_parameters(
    translation: Sequence[float], rotation_xyzw: Sequence[float]
) -> np.ndarray | None:
    """T_camera_from_radar from parameter lists; None when both are empty (no fallback)."""
    if len(translation) == 0 and len(rotation_xyzw) == 0:
        return None
    if len(translation) != 3 or len(rotation_xyzw) != 4:
        raise ValueError(
            "extrinsic.translation needs 3 values and extrinsic.rotation_xyzw 4 "
            f"(got {len(translation)} and {len(rotation_xyzw)})"
        )
    quaternion = np.asarray(rotation_xyzw, dtype=np.float64)
    if not np.all(np.isfinite(quaternion)) or abs(np.linalg.norm(quaternion) - 1.0) > 1e-3:
        raise ValueError(
            f"extrinsic.rotation_xyzw must be a unit quaternion, got {list(rotation_xyzw)}"
        )
    return make_transform(
        Rotation.from_quat(quaternion).as_matrix(), np.asarray(translation, dtype=np.float64)
    )


class RadarToCamera:
    """Looks up T_camera_from_radar for a pair; raises TransformError when nothing is known."""

    def __init__(
        self, transforms=None, fixed_frame: str = "", fallback: np.ndarray | None = None
    ) -> None:
        self.transforms = transforms
        self.fixed_frame = fixed_frame
        self.fallback = fallback

    def extrapolate_forward(self, allowed: bool) -> None:
        """Let timed lookups extrapolate past the newest TF (tf_window.BoundedTransforms)."""
        if hasattr(self.transforms, "forward"):
            self.transforms.forward = allowed

    def camera_from_radar(
        self, camera_frame: str, image_stamp: float, radar_frame: str, radar_stamp: float
    ) -> np.ndarray:
        if self.transforms is not None:
            try:
                if self.fixed_frame:
                    return self.transforms.lookup_full(
                        camera_frame, image_stamp, radar_frame, radar_stamp, self.fixed_frame
                    )
                return self.transforms.lookup(camera_frame, radar_frame, None)
            except TransformError:
                if self.fallback is None:
                    raise
        if self.fallback is None:
            raise TransformError(
                f"no TF and no extrinsic parameters for '{radar_frame}' -> '{camera_frame}'"
            )
        return self.fallback
