"""Size knobs of the synthetic world and the fixed sensor rig (nuScenes-like geometry)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lircdepth.geometry import make_transform, matrix_to_quaternion

KEYFRAME_PERIOD = 0.5  # seconds: nuScenes samples at 2 Hz
CAMERA_RATE = 12.0
LIDAR_RATE = 20.0
RADAR_RATE = 13.0

# nuScenes' CAM_FRONT intrinsics at 1600 x 900, scaled to the chosen image size.
FULL_WIDTH, FULL_HEIGHT = 1600, 900
FULL_FOCAL, FULL_CX, FULL_CY = 1266.4, 816.3, 491.5


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. Defaults give full-size nuScenes-like frames."""

    scenes: int = 2
    keyframes: int = 10
    seed: int = 0
    width: int = FULL_WIDTH
    height: int = FULL_HEIGHT
    version: str = "v1.0-mini"
    camera_sweeps: bool = True
    jpeg_quality: int = 92

    def __post_init__(self) -> None:
        for name in ("scenes", "keyframes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("width", "height"):
            if getattr(self, name) < 32:
                raise ValueError(
                    f"image {name} must be at least 32 pixels, got {getattr(self, name)}"
                )
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")


def camera_matrix(width: int, height: int) -> np.ndarray:
    """CAM_FRONT intrinsics scaled from nuScenes' 1600 x 900 calibration."""
    scale_x, scale_y = width / FULL_WIDTH, height / FULL_HEIGHT
    return np.array(
        [
            [FULL_FOCAL * scale_x, 0.0, FULL_CX * scale_x],
            [0.0, FULL_FOCAL * scale_y, FULL_CY * scale_y],
            [0.0, 0.0, 1.0],
        ]
    )


def _yaw_pitch_roll(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = (
        np.cos(yaw),
        np.sin(yaw),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(roll),
        np.sin(roll),
    )
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    return rz @ ry @ rx


# Optical frame (x right, y down, z forward) expressed in a forward-looking ego frame.
_OPTICAL_TO_FORWARD = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class SensorMount:
    channel: str
    modality: str
    T_ego_from_sensor: np.ndarray

    @property
    def translation(self) -> list[float]:
        return [float(x) for x in self.T_ego_from_sensor[:3, 3]]

    @property
    def rotation(self) -> list[float]:
        return [float(x) for x in matrix_to_quaternion(self.T_ego_from_sensor[:3, :3])]


def sensor_rig() -> dict[str, SensorMount]:
    """Real-looking extrinsics: the camera is pitched and yawed slightly off the ego axes."""
    camera_rotation = _yaw_pitch_roll(-0.012, 0.021, -0.004) @ _OPTICAL_TO_FORWARD
    return {
        "CAM_FRONT": SensorMount(
            "CAM_FRONT", "camera", make_transform(camera_rotation, [1.70, 0.016, 1.51])
        ),
        "LIDAR_TOP": SensorMount(
            "LIDAR_TOP",
            "lidar",
            make_transform(_yaw_pitch_roll(-np.pi / 2 + 0.004, 0.0, 0.0), [0.94, 0.0, 1.84]),
        ),
        "RADAR_FRONT": SensorMount(
            "RADAR_FRONT",
            "radar",
            make_transform(_yaw_pitch_roll(0.009, 0.0, 0.0), [3.41, 0.0, 0.50]),
        ),
    }
