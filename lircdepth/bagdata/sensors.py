"""Which topics of a bag are cameras, radars and lidars: found by message type and name.

Cameras are the `sensor_msgs/Image` and `sensor_msgs/CompressedImage` topics; a camera's
name is its topic without the image leaf (`/CAM_FRONT/image_rgb`,
`/CAM_FRONT/image_rect_compressed` and `/cam/image_raw/compressed` give `CAM_FRONT`,
`CAM_FRONT` and `cam`), and its CameraInfo is the sibling `camera_info` topic.
PointCloud2 topics are lidars when their name holds `lidar`, radars when it holds `radar`
(any case), named like cameras without the leading slash (`/RADAR_FRONT` -> `RADAR_FRONT`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lircdepth.bagdata.images import CAMERA_TYPES

CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
POINT_CLOUD = "sensor_msgs/msg/PointCloud2"
IMAGE_LEAVES = frozenset(
    {
        "image",
        "image_raw",
        "image_rgb",
        "image_color",
        "image_rect",
        "image_rect_color",
        "image_rect_compressed",
        "compressed",
        "image_compressed",
    }
)


@dataclass(frozen=True)
class CameraTopics:
    name: str
    image_topic: str
    msgtype: str
    info_topic: str | None

    @property
    def compressed(self) -> bool:
        return self.msgtype.endswith("/CompressedImage")


@dataclass
class BagSensors:
    """name -> topics of every camera, radar and lidar a bag records."""

    cameras: dict[str, CameraTopics] = field(default_factory=dict)
    radars: dict[str, str] = field(default_factory=dict)
    lidars: dict[str, str] = field(default_factory=dict)
    other_clouds: dict[str, str] = field(default_factory=dict)

    def clouds(self) -> dict[str, str]:
        return {**self.other_clouds, **self.radars, **self.lidars}


def camera_namespace(image_topic: str) -> str:
    """The topic without its image leaves (`/a/image_raw/compressed` -> `/a`)."""
    parts = image_topic.strip("/").split("/")
    while len(parts) > 1 and parts[-1] in IMAGE_LEAVES:
        parts.pop()
    return "/" + "/".join(parts)


def camera_name(image_topic: str) -> str:
    return camera_namespace(image_topic).strip("/")


def cloud_name(topic: str) -> str:
    return topic.strip("/")


def find_sensors(topics: dict[str, str]) -> BagSensors:
    """Sort a bag's topics (topic -> message type) into cameras, radars and lidars.

    When a camera has both a raw and a compressed topic, the raw one is taken.
    """
    sensors = BagSensors()
    for topic in sorted(topics):
        msgtype = topics[topic]
        if msgtype in CAMERA_TYPES:
            namespace = camera_namespace(topic)
            info = f"{namespace.rstrip('/')}/camera_info"
            name = camera_name(topic)
            known = sensors.cameras.get(name)
            if known is None or (known.compressed and not msgtype.endswith("/CompressedImage")):
                sensors.cameras[name] = CameraTopics(
                    name, topic, msgtype, info if topics.get(info) == CAMERA_INFO else None
                )
        elif msgtype == POINT_CLOUD:
            name, lower = cloud_name(topic), topic.lower()
            kind = (
                sensors.lidars
                if "lidar" in lower
                else sensors.radars
                if "radar" in lower
                else sensors.other_clouds
            )
            kind[name] = topic
    return sensors
