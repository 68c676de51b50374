"""Bag reading speed: JPEG decode of a 1600 x 900 CompressedImage (the nuScenes camera
size; what `lircdepth.bagdata` and the node do per frame of a community bag) and the
decode of a packed 43-byte radar cloud, medians over repeats.

    lircdepth bench bagdata [--repeats 50 --quality 90]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from lircdepth.bagdata import messages as m
from lircdepth.bagdata.images import compressed_image_rgb
from lircdepth.bagdata.pointcloud import cloud_fields
from lircdepth.synth.formats import RADAR_DTYPE


def camera_like_image(width: int = 1600, height: int = 900, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus sensor-like noise: JPEG sizes near nuScenes' (0.3-0.6 MB)."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x / width * 255, y / height * 255, (x + y) % 256], -1).astype(np.uint8)
    noise = np.random.default_rng(seed).normal(0, 12, image.shape)
    return np.clip(cv2.GaussianBlur(image, (5, 5), 0) + noise, 0, 255).astype(np.uint8)


def median_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--quality", type=int, default=90)
    args = parser.parse_args(argv)
    rgb = camera_like_image()
    jpeg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, args.quality])[1]
    image = m.compressed_image_message(jpeg.tobytes(), 0, "CAM_FRONT")
    radar = np.zeros(125, dtype=RADAR_DTYPE)
    cloud = m.packed_cloud_message(radar, 0, "RADAR_FRONT")
    print("| what | size | median ms |")
    print("|---|---|---:|")
    for threads in (1, cv2.getNumThreads()):
        cv2.setNumThreads(threads)
        ms = median_ms(lambda: compressed_image_rgb(image), args.repeats)
        print(
            f"| JPEG 1600x900 -> RGB, {threads} OpenCV thread(s) | {len(jpeg) / 1e6:.2f} MB | {ms:.1f} |"
        )
    ms = median_ms(lambda: cloud_fields(cloud), args.repeats)
    print(
        f"| radar cloud, point_step {cloud.point_step}, all 18 fields | {len(radar)} points | {ms:.3f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
