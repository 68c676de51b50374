"""Camera input as raw `sensor_msgs/Image` or `sensor_msgs/CompressedImage` (jpeg, png).

The image_transport convention: the `transport` parameter `raw` subscribes the image topic
itself, `compressed` subscribes `<image>/compressed` (the base name resolved first, so a
remap of `image` moves both). An image topic whose last name part ends in `compressed`
(`/CAM_FRONT/image_rect_compressed`, as community nuScenes bags name theirs) is read as a
CompressedImage whatever `transport` says.

The callback checks only the header: the format must name jpeg or png and the data must
start with that format's header, whose width x height is checked against
`limits.max_image_pixels` before anything is decoded (a small file can claim a huge
image). The worker thread decodes (cv_bridge where importable, else OpenCV), so the
executor never spends a decode. Every failure is a `MessageError` of kind
`compressed_image.*`, counted as a rejected input by the node.
"""

from __future__ import annotations

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from lircdepth_ros.conversions import (
    MessageError,
    check_colour_image,
    check_pixel_limit,
    image_to_rgb8,
    to_uint8_array,
)

try:  # a real ROS install; not on PyPI
    from cv_bridge import CvBridge
except ImportError:
    CvBridge = None

TRANSPORTS = ("raw", "compressed")
COMPRESSED_SUFFIX = "compressed"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8"
# JPEG start-of-frame markers (C0-CF except DHT C4, JPG C8, DAC CC) carry height and width.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0-7, SOI.
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})


def decoder_name() -> str:
    """Which library decodes CompressedImage in this process (for the `ready:` line)."""
    return "cv_bridge" if CvBridge is not None else "OpenCV"


def is_compressed_topic(topic: str) -> bool:
    """`.../compressed`, `.../image_rect_compressed`: a CompressedImage topic by its name."""
    return topic.rstrip("/").rsplit("/", 1)[-1].endswith(COMPRESSED_SUFFIX)


def image_subscription(topic: str, transport: str, resolve) -> tuple[type, str]:
    """(message type, topic) the node subscribes for one camera's image topic.

    `resolve` is the node's resolve_topic_name (remaps and namespace applied to the base
    topic, as image_transport does before it appends the transport's name).
    """
    if is_compressed_topic(topic):
        return CompressedImage, topic
    if transport == "compressed":
        return CompressedImage, f"{resolve(topic).rstrip('/')}/{COMPRESSED_SUFFIX}"
    return Image, topic


def _format(msg: CompressedImage) -> str:
    """'jpeg' or 'png' from CompressedImage.format ('jpeg', 'rgb8; jpeg compressed bgr8')."""
    text = msg.format.lower()
    if "png" in text:
        return "png"
    if "jpeg" in text or "jpg" in text:
        return "jpeg"
    raise MessageError(
        f"CompressedImage.format '{msg.format}' is not supported (jpeg, png)",
        "compressed_image.format",
    )


def _png_size(data) -> tuple[int, int] | None:
    """(width, height) from the IHDR chunk that must follow the signature."""
    if len(data) < 24 or bytes(data[:8]) != PNG_SIGNATURE or bytes(data[12:16]) != b"IHDR":
        return None
    return int.from_bytes(bytes(data[16:20]), "big"), int.from_bytes(bytes(data[20:24]), "big")


def _jpeg_size(data) -> tuple[int, int] | None:
    """(width, height) from the first start-of-frame segment, hopping segment by segment."""
    if len(data) < 4 or bytes(data[:2]) != JPEG_START:
        return None
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in _STANDALONE_MARKERS:
            index += 2
            continue
        length = int.from_bytes(bytes(data[index + 2 : index + 4]), "big")
        if marker in _SOF_MARKERS:
            if index + 9 > len(data):
                return None
            height = int.from_bytes(bytes(data[index + 5 : index + 7]), "big")
            width = int.from_bytes(bytes(data[index + 7 : index + 9]), "big")
            return width, height
        if length < 2:
            return None
        index += 2 + length
    return None


def compressed_size(msg: CompressedImage) -> tuple[int, int]:
    """(width, height) the data's header claims; MessageError when it has none."""
    kind = _format(msg)
    size = _png_size(msg.data) if kind == "png" else _jpeg_size(msg.data)
    if size is None:
        raise MessageError(
            f"CompressedImage.data ({len(msg.data)} bytes) has no {kind} header with the "
            "image size: not a complete image",
            "compressed_image.header",
        )
    return size


def check_compressed_image(msg: CompressedImage, max_pixels: int | None = None) -> None:
    """Header-only check of a CompressedImage (format, data header, pixel limit)."""
    width, height = compressed_size(msg)
    if width <= 0 or height <= 0:
        raise MessageError(
            f"CompressedImage header says {width} x {height} pixels", "compressed_image.size"
        )
    check_pixel_limit("CompressedImage", "compressed_image.too_large", width, height, max_pixels)


def check_image_message(
    msg: Image | CompressedImage, max_pixels: int | None = None, min_rows: int = 1
) -> None:
    """The callback's check for either image type (header and data length only); a raw
    image must also have `min_rows` rows (the network's minimum)."""
    if isinstance(msg, CompressedImage):
        check_compressed_image(msg, max_pixels)
    else:
        check_colour_image(msg, max_pixels, min_rows)


def _decode(msg: CompressedImage) -> np.ndarray | None:
    """BGR (or BGRA/mono) array, None when the library cannot decode the data."""
    try:
        if CvBridge is not None:
            return CvBridge().compressed_imgmsg_to_cv2(msg, "bgr8")
        return cv2.imdecode(np.frombuffer(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except Exception:  # noqa: BLE001 - cv_bridge and OpenCV raise their own error types
        return None


def compressed_to_rgb8(msg: CompressedImage, max_pixels: int | None = None) -> np.ndarray:
    """H x W x 3 uint8 RGB decoded from a jpeg/png CompressedImage; MessageError if it fails."""
    check_compressed_image(msg, max_pixels)
    image = _decode(msg)
    if image is None or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise MessageError(
            f"CompressedImage.data ({len(msg.data)} bytes, format '{msg.format}') could not "
            "be decoded",
            "compressed_image.decode",
        )
    expected = compressed_size(msg)
    if (image.shape[1], image.shape[0]) != expected:
        raise MessageError(
            f"CompressedImage decoded to {image.shape[1]} x {image.shape[0]}, its header says "
            f"{expected[0]} x {expected[1]}",
            "compressed_image.decode",
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_rgb8(msg: Image | CompressedImage, max_pixels: int | None = None) -> np.ndarray:
    """The model's H x W x 3 uint8 RGB input from either image type."""
    if isinstance(msg, CompressedImage):
        return compressed_to_rgb8(msg, max_pixels)
    return image_to_rgb8(msg, max_pixels)


def compressed_image(rgb: np.ndarray, header=None, kind: str = "jpeg", quality: int = 90):
    """A CompressedImage holding `rgb` encoded as jpeg or png (tests, benchmarks, peers)."""
    ok, buffer = cv2.imencode(
        ".png" if kind == "png" else ".jpg",
        np.ascontiguousarray(rgb[:, :, ::-1]),
        [] if kind == "png" else [cv2.IMWRITE_JPEG_QUALITY, quality],
    )
    if not ok:
        raise ValueError(f"cannot encode a {rgb.shape} array as {kind}")
    msg = CompressedImage(format=kind)
    if header is not None:
        msg.header = header
    msg.data = to_uint8_array(buffer)
    return msg
