"""A small hand-made surround-view bag, written as `lircdepth bag convert` lays bags out.

Cameras look in the directions of `RIG` from a vehicle driving ahead at 2 m/s through a
ring of wall 12 m around the map origin; the lidar sees the wall, each radar a few points
of it. Every
camera fires at its own offset from the lidar (as nuScenes' cameras do when the lidar
sweeps past them), and metadata.yaml holds the keyframe table the scorer reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Writer

from lircdepth.geometry import (
    invert_transform,
    make_transform,
    matrix_to_quaternion,
    transform_points,
)
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.convert import (
    BAG_FORMAT_VERSION,
    KEYFRAMES_KEY,
    LATCHED_QOS,
    SENSOR_QOS,
    camera_info_topic,
    image_topic,
    point_cloud_topic,
)

OPTICAL_TO_FORWARD = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
WIDTH, HEIGHT = 96, 68  # 68 mod 32 = 4 rows dropped for evaluation
K = np.array([[60.0, 0.0, 48.3], [0.0, 60.0, 34.6], [0.0, 0.0, 1.0]])
RIG = {  # camera: (yaw in degrees, mount translation in base_link)
    "CAM_FRONT": (0.0, [1.7, 0.0, 1.5]),
    "CAM_FRONT_LEFT": (55.0, [1.5, 0.5, 1.5]),
    "CAM_FRONT_RIGHT": (-55.0, [1.5, -0.5, 1.5]),
    "CAM_BACK": (180.0, [0.0, 0.0, 1.5]),
    "CAM_BACK_LEFT": (110.0, [1.0, 0.5, 1.5]),
    "CAM_BACK_RIGHT": (-110.0, [1.0, -0.5, 1.5]),
}
RADARS = {"RADAR_FRONT": (0.0, [3.4, 0.0, 0.5]), "RADAR_BACK_LEFT": (150.0, [-0.5, 0.6, 0.5])}
LIDAR = "LIDAR_TOP"
START_US = 1_600_000_000_000_000
FRAME_PERIOD_US = 500_000  # keyframes only: one frame per sensor and sample
SPEED = 2.0  # m/s along x


def _yaw(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def mounts() -> dict[str, np.ndarray]:
    """T_base_link_from_<sensor> of every sensor of the rig."""
    poses = {c: make_transform(_yaw(y) @ OPTICAL_TO_FORWARD, t) for c, (y, t) in RIG.items()}
    poses.update({r: make_transform(_yaw(y), t) for r, (y, t) in RADARS.items()})
    poses[LIDAR] = make_transform(np.eye(3), [0.9, 0.0, 1.8])
    return poses


def wall_points() -> np.ndarray:
    """N x 3 map points of a 12 m ring of wall, 0 to 2.5 m high."""
    azimuth, height = np.meshgrid(
        np.linspace(-np.pi, np.pi, 720, endpoint=False), np.linspace(0.0, 2.5, 12)
    )
    return np.stack([12 * np.cos(azimuth), 12 * np.sin(azimuth), height], -1).reshape(-1, 3)


def write_rig_bag(path: Path, samples: int = 3) -> Path:
    """Write the bag at `path`; returns it."""
    poses = mounts()
    messages: list[tuple[str, int, object]] = []
    rotations = {s: matrix_to_quaternion(T[:3, :3]) for s, T in poses.items()}
    statics = [
        m.transform_stamped(rotations[s], T[:3, 3], START_US, m.BASE_FRAME, s)
        for s, T in poses.items()
    ]
    messages.append(("/tf_static", START_US, m.tf_message(statics)))
    table = []
    offsets = {c: 10_000 * (i + 1) for i, c in enumerate(RIG)}
    offsets.update({r: 5_000 * (i + 1) for i, r in enumerate(RADARS)})
    offsets[LIDAR] = 0
    for sample in range(samples):
        stamps = {s: START_US + sample * FRAME_PERIOD_US + offset for s, offset in offsets.items()}
        table.append({"sample_token": f"s{sample}", "timestamp": stamps[LIDAR], "stamps": stamps})
        for sensor, stamp in stamps.items():
            ego = make_transform(np.eye(3), [SPEED * (stamp - START_US) / 1e6, 0.0, 0.0])
            pose = m.transform_stamped([1, 0, 0, 0], ego[:3, 3], stamp, m.MAP_FRAME, m.BASE_FRAME)
            messages.append(("/tf", stamp, m.tf_message([pose])))
            messages += _sensor_messages(sensor, stamp, ego @ poses[sensor])
    with Writer(path, version=BAG_FORMAT_VERSION) as writer:
        writer.set_custom_data(KEYFRAMES_KEY, json.dumps(table))
        connections = {}
        for topic, stamp, message in sorted(messages, key=lambda item: item[1]):
            if topic not in connections:
                qos = LATCHED_QOS if topic == "/tf_static" else SENSOR_QOS
                connections[topic] = writer.add_connection(
                    topic, message.__msgtype__, typestore=m.TYPESTORE, offered_qos_profiles=[qos]
                )
            writer.write(connections[topic], stamp * 1000, m.serialize(message))
    return path


def _sensor_messages(sensor: str, stamp: int, T_map_from_sensor: np.ndarray) -> list:
    points = transform_points(invert_transform(T_map_from_sensor), wall_points())
    if sensor == LIDAR:
        cloud = np.vstack([points.T, np.zeros((2, len(points)))])
        return [
            (
                point_cloud_topic(sensor),
                stamp,
                m.point_cloud_message(cloud, m.LIDAR_FIELDS, stamp, sensor),
            )
        ]
    if sensor in RADARS:
        ahead = points[
            (points[:, 0] > 0)
            & (np.abs(points[:, 1]) < 3 * points[:, 0])
            & (np.abs(points[:, 2]) < 0.3)
        ]
        radar = np.zeros((len(m.RADAR_FIELDS), len(ahead[::9])))
        radar[:3] = ahead[::9].T
        return [
            (
                point_cloud_topic(sensor),
                stamp,
                m.point_cloud_message(radar, m.RADAR_FIELDS, stamp, sensor),
            )
        ]
    image = np.full((HEIGHT, WIDTH, 3), 40 + 30 * list(RIG).index(sensor), np.uint8)
    return [
        (image_topic(sensor), stamp, m.image_message(image, stamp, sensor)),
        (camera_info_topic(sensor), stamp, m.camera_info_message(K, WIDTH, HEIGHT, stamp, sensor)),
    ]
