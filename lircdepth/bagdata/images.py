"""Camera messages -> H x W x 3 uint8 RGB: sensor_msgs/Image (raw encodings) and
sensor_msgs/CompressedImage (jpeg, png; decoded with OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

from lircdepth.bagdata.errors import BagDataError

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_TYPES = (IMAGE, COMPRESSED_IMAGE)

_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "8UC1": 1, "8UC3": 3}
_TO_RGB = {
    "bgr8": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB,
    "8UC1": cv2.COLOR_GRAY2RGB,
}


def raw_image_rgb(message, where: str = "Image") -> np.ndarray:
    """RGB of an 8-bit sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8)."""
    channels = _CHANNELS.get(message.encoding)
    if channels is None:
        raise BagDataError(
            f"{where}: image encoding {message.encoding!r} is not one of {sorted(_CHANNELS)}"
        )
    height, width, step = int(message.height), int(message.width), int(message.step)
    data = np.asarray(message.data, dtype=np.uint8).reshape(-1)
    if step < width * channels or data.size < height * step:
        raise BagDataError(
            f"{where}: {width}x{height} {message.encoding} image with step {step} "
            f"but {data.size} bytes of data"
        )
    rows = data[: height * step].reshape(height, step)[:, : width * channels]
    image = rows.reshape(height, width, channels)
    if message.encoding in _TO_RGB:
        return cv2.cvtColor(np.ascontiguousarray(image), _TO_RGB[message.encoding])
    return np.ascontiguousarray(image)


def compressed_image_rgb(message, where: str = "CompressedImage") -> np.ndarray:
    """RGB of a jpeg or png sensor_msgs/CompressedImage (OpenCV decodes whatever it reads)."""
    data = np.asarray(message.data, dtype=np.uint8).reshape(-1)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise BagDataError(
            f"{where}: cannot decode the {message.format or 'unnamed'} image ({data.size} bytes)"
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def image_rgb(message, msgtype: str, where: str = "image") -> np.ndarray:
    """RGB of either camera message type."""
    if msgtype == COMPRESSED_IMAGE:
        return compressed_image_rgb(message, where)
    if msgtype == IMAGE:
        return raw_image_rgb(message, where)
    raise BagDataError(f"{where}: {msgtype} is not a camera message ({', '.join(CAMERA_TYPES)})")


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    """JPEG bytes of an RGB image (for writers of compressed camera topics)."""
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise BagDataError("OpenCV could not encode the image as JPEG")
    return data.tobytes()
