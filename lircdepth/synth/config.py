"""Size knobs of the synthetic world and its sensor rigs (nuScenes-like geometry).

Two rigs: "front" (the published setting: CAM_FRONT, RADAR_FRONT, LIDAR_TOP) and
"full" (nuScenes' six cameras, five radars and the lidar). Mountings, intrinsics and
trigger offsets follow nuScenes' calibration closely, so the real devkit chain
sensor -> ego(t_sensor) -> global -> ego(t_camera) -> camera matters for every pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lircdepth.geometry import make_transform, matrix_to_quaternion

KEYFRAME_PERIOD = 0.5  # seconds: nuScenes samples at 2 Hz
CAMERA_RATE = 12.0
LIDAR_RATE = 20.0
RADAR_RATE = 13.0

# nuScenes' intrinsics are given at 1600 x 900 and scaled to the chosen image size.
FULL_WIDTH, FULL_HEIGHT = 1600, 900

FRONT_CAMERAS = ("CAM_FRONT",)
FULL_CAMERAS = (
    "CAM_FRONT",
    "CAM_FRONT_LEFT",
    "CAM_FRONT_RIGHT",
    "CAM_BACK",
    "CAM_BACK_LEFT",
    "CAM_BACK_RIGHT",
)
FRONT_RADARS = ("RADAR_FRONT",)
FULL_RADARS = (
    "RADAR_FRONT",
    "RADAR_FRONT_LEFT",
    "RADAR_FRONT_RIGHT",
    "RADAR_BACK_LEFT",
    "RADAR_BACK_RIGHT",
)
LIDAR = "LIDAR_TOP"
RIGS = {"front": (FRONT_CAMERAS, FRONT_RADARS), "full": (FULL_CAMERAS, FULL_RADARS)}


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
    rig: str = "front"

    def __post_init__(self) -> None:
        if self.rig not in RIGS:
            raise ValueError(f"rig must be one of {', '.join(RIGS)}, got {self.rig!r}")
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


# Focal length, cx, cy at 1600 x 900 (nuScenes-like; CAM_BACK has the wide lens).
INTRINSICS = {
    "CAM_FRONT": (1266.4, 816.3, 491.5),
    "CAM_FRONT_LEFT": (1272.6, 826.6, 479.8),
    "CAM_FRONT_RIGHT": (1260.8, 807.9, 495.3),
    "CAM_BACK": (809.2, 829.2, 481.8),
    "CAM_BACK_LEFT": (1256.7, 792.1, 492.8),
    "CAM_BACK_RIGHT": (1259.5, 807.3, 501.2),
}


def camera_matrix(width: int, height: int, channel: str = "CAM_FRONT") -> np.ndarray:
    """A camera's intrinsics scaled from its 1600 x 900 calibration."""
    focal, cx, cy = INTRINSICS[channel]
    scale_x, scale_y = width / FULL_WIDTH, height / FULL_HEIGHT
    return np.array(
        [
            [focal * scale_x, 0.0, cx * scale_x],
            [0.0, focal * scale_y, cy * scale_y],
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
    """Where a sensor sits on the ego, when it fires, and (radar) how wide it sees.

    `time_offset`: seconds after the channel's nominal clock tick (cameras fire as the
    lidar sweeps past them, radars run on their own unsynchronised clocks).
    """

    channel: str
    modality: str
    T_ego_from_sensor: np.ndarray
    time_offset: float = 0.0
    half_fov_deg: float = 60.0

    @property
    def translation(self) -> list[float]:
        return [float(x) for x in self.T_ego_from_sensor[:3, 3]]

    @property
    def rotation(self) -> list[float]:
        return [float(x) for x in matrix_to_quaternion(self.T_ego_from_sensor[:3, :3])]


# Camera: yaw, pitch, roll (rad, ego frame, before the optical axes), translation (m).
_CAMERA_MOUNTS = {
    "CAM_FRONT": ((-0.012, 0.021, -0.004), (1.70, 0.016, 1.51)),
    "CAM_FRONT_LEFT": ((np.deg2rad(55.2), 0.012, 0.003), (1.52, 0.494, 1.51)),
    "CAM_FRONT_RIGHT": ((np.deg2rad(-55.9), 0.009, -0.006), (1.55, -0.493, 1.50)),
    "CAM_BACK": ((np.deg2rad(180.4), 0.018, 0.002), (0.03, 0.003, 1.57)),
    "CAM_BACK_LEFT": ((np.deg2rad(108.3), 0.006, -0.004), (1.04, 0.481, 1.56)),
    "CAM_BACK_RIGHT": ((np.deg2rad(-110.7), 0.011, 0.005), (1.01, -0.480, 1.56)),
}
# Radar: yaw (rad), translation (m), trigger offset (s), half field of view (deg).
_RADAR_MOUNTS = {
    "RADAR_FRONT": (0.009, (3.41, 0.0, 0.50), 0.013, 60.0),
    "RADAR_FRONT_LEFT": (np.deg2rad(88.4), (2.42, 0.80, 0.64), 0.029, 60.0),
    "RADAR_FRONT_RIGHT": (np.deg2rad(-89.1), (2.41, -0.80, 0.64), 0.041, 60.0),
    "RADAR_BACK_LEFT": (np.deg2rad(151.0), (-0.56, 0.63, 0.53), 0.054, 55.0),
    "RADAR_BACK_RIGHT": (np.deg2rad(-150.2), (-0.56, -0.62, 0.53), 0.067, 55.0),
}


def camera_trigger_offset(yaw: float) -> float:
    """Seconds after CAM_FRONT a camera of this yaw fires: the lidar spins clockwise seen
    from above (one turn per sweep) and triggers each camera as it passes its centre."""
    front_yaw = _CAMERA_MOUNTS["CAM_FRONT"][0][0]
    return float(np.mod(front_yaw - yaw, 2 * np.pi) / (2 * np.pi) / LIDAR_RATE)


def _camera(channel: str) -> SensorMount:
    (yaw, pitch, roll), translation = _CAMERA_MOUNTS[channel]
    rotation = _yaw_pitch_roll(yaw, pitch, roll) @ _OPTICAL_TO_FORWARD
    transform = make_transform(rotation, translation)
    return SensorMount(channel, "camera", transform, camera_trigger_offset(yaw))


def _radar(channel: str) -> SensorMount:
    yaw, translation, offset, half_fov = _RADAR_MOUNTS[channel]
    transform = make_transform(_yaw_pitch_roll(yaw, 0.0, 0.0), translation)
    return SensorMount(channel, "radar", transform, offset, half_fov)


def sensor_rig(rig: str = "front") -> dict[str, SensorMount]:
    """The rig's sensors: cameras, then LIDAR_TOP, then radars (the generation order)."""
    cameras, radars = RIGS[rig]
    lidar = SensorMount(
        LIDAR,
        "lidar",
        make_transform(_yaw_pitch_roll(-np.pi / 2 + 0.004, 0.0, 0.0), [0.94, 0.0, 1.84]),
    )
    return {
        **{channel: _camera(channel) for channel in cameras},
        LIDAR: lidar,
        **{channel: _radar(channel) for channel in radars},
    }
