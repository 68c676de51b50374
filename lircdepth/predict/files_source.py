"""Frames from files: images (one or a folder), radar per image, one calibration YAML.

Radar per image: `--radar` is a file (one image only) or a folder holding `<image stem>`
+ .pcd/.npy/.csv for each image. The points are in the radar frame (moved into the
camera by the calibration's extrinsic, T_camera_from_radar) or, with `radar_frame
"camera"`, already in the camera frame. Projection is `geometry.project_radar` after
`geometry.transform_points`, what `lircdepth_node` does with a PointCloud2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lircdepth.data.storage import StorageError, load_image_rgb
from lircdepth.errors import BadValueError, MissingPathError
from lircdepth.geometry import project_radar, transform_points
from lircdepth.predict.calibration import Calibration, CalibrationError
from lircdepth.predict.frames import FrameInput, FrameJob
from lircdepth.predict.radar_files import SUFFIXES, read_radar_file

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
RADAR_FRAMES = ("radar", "camera")


def list_images(path: Path) -> list[Path]:
    """An image file, or every image in a folder (and its sub-folders), sorted."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise BadValueError(f"--images {path}: not a jpg/png image")
        return [path]
    if not path.is_dir():
        raise MissingPathError(f"--images {path} does not exist")
    images = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise MissingPathError(f"--images {path} holds no jpg/png image")
    return images


def radar_file_for(image: Path, images_root: Path, radar: Path) -> Path:
    """The radar file of one image: `radar` itself, or `<stem>.<pcd|npy|csv>` at the
    image's place in the `radar` folder."""
    if radar.is_file():
        return radar
    relative = (
        image.relative_to(images_root).with_suffix("") if images_root.is_dir() else Path(image.stem)
    )
    for suffix in SUFFIXES:
        candidate = radar / relative.parent / (relative.name + suffix)
        if candidate.is_file():
            return candidate
    raise MissingPathError(
        f"no radar file for image {image}: expected {radar / relative}{{{','.join(SUFFIXES)}}}"
    )


def project_sweep(
    xyz: np.ndarray, features: np.ndarray, calibration: Calibration, radar_frame: str
) -> np.ndarray:
    """N x 6 projected points, as the node computes them from a cloud."""
    if radar_frame == "radar":
        assert calibration.camera_from_radar is not None  # file_jobs refuses it missing
        xyz = transform_points(calibration.camera_from_radar, xyz)
    return project_radar(xyz, features, calibration.camera_matrix)


def file_jobs(
    images: Path, radar: Path, calibration: Calibration, radar_frame: str
) -> list[FrameJob]:
    """One job per image; the output name is the image's path under `images` without suffix."""
    images, radar = Path(images), Path(radar)
    if radar_frame not in RADAR_FRAMES:
        raise BadValueError(f"--radar-frame must be one of {', '.join(RADAR_FRAMES)}")
    if radar_frame == "radar" and calibration.camera_from_radar is None:
        raise CalibrationError(
            f"calibration {calibration.path} has no extrinsic (extrinsic.translation, "
            "extrinsic.rotation_xyzw) for radar points in the radar frame",
            hint="add the radar -> camera transform, or pass --radar-frame camera",
        )
    if not radar.exists():
        raise MissingPathError(f"--radar {radar} does not exist")
    paths = list_images(images)
    if radar.is_file() and len(paths) > 1:
        raise BadValueError(
            f"--radar {radar} is one file for {len(paths)} images: give a folder with one "
            "radar file per image (same name as the image)"
        )
    jobs = []
    for image in paths:
        name = image.relative_to(images).with_suffix("") if images.is_dir() else Path(image.stem)

        try:
            radar_path, missing = radar_file_for(image, images, radar), None
        except MissingPathError as error:
            radar_path, missing = None, error

        def load(image=image, radar_path=radar_path, missing=missing) -> FrameInput:
            if missing is not None:
                raise missing
            try:
                rgb = load_image_rgb(image)
            except StorageError as error:
                raise BadValueError(str(error)) from error
            calibration.check_image_size(rgb, f"image {image}")
            sweep = read_radar_file(radar_path)
            points = project_sweep(sweep.xyz, sweep.features, calibration, radar_frame)
            return FrameInput(rgb, points)

        source = {"image": str(image), "radar": str(radar_path) if radar_path else None}
        jobs.append(FrameJob(name.as_posix(), source, load))
    return jobs
