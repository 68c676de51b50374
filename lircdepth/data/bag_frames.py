"""Camera images of a ROS 2 bag with their radar points: one reading for `predict --bag`
and `prepare --bag`, so the network sees the same radar input in both.

Per image (header stamp t_cam): each chosen radar's sweep nearest in header stamp (at
most `max_gap_ns` away), moved into the camera through the bag's TF as the authors'
preparation and the node do it (radar at t_radar -> `fixed` frame -> camera at t_cam;
`fixed=""`: both at t_cam), projected with the CameraInfo's K, kept when inside the image
(the rasteriser's border and 1 m rules) and, where radars share a pixel, the nearest
radar wins (`data.radar.nearest_radar_wins`, as nuScenes preparation). Fields are read by
name (x, y, z, rcs, vx, vy by default) from any PointCloud2 layout.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lircdepth.bagdata import BagData, CameraFrame, CameraModel, MissingTopicError
from lircdepth.data.radar import nearest_radar_wins
from lircdepth.data.sensor_names import pick_names
from lircdepth.errors import BadValueError
from lircdepth.geometry import (
    RADAR_BORDER,
    RADAR_MIN_DEPTH,
    in_image_mask,
    project_radar,
    transform_points,
)

RADAR_FIELDS = ("x", "y", "z", "rcs", "vx", "vy")
# nuScenes radars sweep at 13 Hz: the nearest sweep is at most ~40 ms from an image.
DEFAULT_MAX_GAP_NS = 100_000_000


def resolve_names(bag: BagData, wanted: Sequence[str], kind: str, flag: str) -> list[str]:
    """Camera or radar names of a bag; 'all' = every one it records; unknown names: one line."""
    available = list(bag.sensors.cameras if kind == "camera" else bag.sensors.radars)
    chosen, unknown = pick_names(wanted, available)
    if unknown:
        raise MissingTopicError(
            f"{flag}: bag {bag.path} records no {kind} {', '.join(unknown)} "
            f"({kind}s: {', '.join(available) or 'none'})"
        )
    return chosen


@dataclass
class RadarScan:
    stamp: int
    frame_id: str
    xyz: np.ndarray  # N x 3 float64, radar frame
    features: np.ndarray  # N x 3 float64: rcs, vx, vy


class BagRadars:
    """Every sweep of the chosen radars of a bag, read once (radar clouds are small)."""

    def __init__(self, bag: BagData, radars: Sequence[str], fields=RADAR_FIELDS) -> None:
        self.bag, self.fields = bag, tuple(fields)
        self.scans: dict[str, list[RadarScan]] = {}
        for radar in radars:
            scans = []
            for cloud in bag.clouds(radar):
                values = cloud.fields(list(self.fields), dtype=np.float64)
                table = np.column_stack([values[name] for name in self.fields]).reshape(-1, 6)
                table = table[np.isfinite(table).all(axis=1)]
                scans.append(RadarScan(cloud.stamp, cloud.frame_id, table[:, :3], table[:, 3:]))
            self.scans[radar] = sorted(scans, key=lambda scan: scan.stamp)

    def nearest(self, radar: str, stamp: int, max_gap_ns: int) -> RadarScan | None:
        scans = self.scans[radar]
        index = bisect.bisect_left([s.stamp for s in scans], stamp)
        near = scans[max(index - 1, 0) : index + 1]
        if not near:
            return None
        best = min(near, key=lambda s: (abs(s.stamp - stamp), s.stamp))
        return best if abs(best.stamp - stamp) <= max_gap_ns else None


def camera_model_at(infos: dict[int, CameraModel], stamp: int, where: str) -> CameraModel:
    """The CameraInfo with the image's stamp, else the latest one before it (else the first)."""
    if not infos:
        raise MissingTopicError(f"{where}: no CameraInfo message")
    if stamp in infos:
        return infos[stamp]
    before = [s for s in infos if s <= stamp]
    return infos[max(before)] if before else infos[min(infos)]


def check_image_size(frame: CameraFrame, model: CameraModel, where: str) -> None:
    height, width = frame.rgb.shape[:2]
    if (width, height) != (model.width, model.height):
        raise BadValueError(
            f"{where}: image is {width}x{height}, its CameraInfo says {model.width}x{model.height}"
        )


def radar_points_for_image(
    bag: BagData,
    radars: BagRadars,
    camera_frame: str,
    stamp: int,
    model: CameraModel,
    fixed: str = "map",
    max_gap_ns: int = DEFAULT_MAX_GAP_NS,
) -> np.ndarray:
    """N x 6 float32 (u, v, depth, rcs, vx, vy) of every chosen radar in one image."""
    per_radar = []
    for radar in radars.scans:
        scan = radars.nearest(radar, stamp, max_gap_ns)
        if scan is None:
            continue
        tree = bag.transforms
        if fixed:
            camera_from_radar = tree.lookup_full(
                camera_frame, stamp, scan.frame_id, scan.stamp, fixed
            )
        else:
            camera_from_radar = tree.lookup(camera_frame, scan.frame_id, stamp)
        projected = project_radar(
            transform_points(camera_from_radar, scan.xyz), scan.features, model.camera_matrix
        )
        keep = in_image_mask(
            projected[:, :2],
            projected[:, 2],
            model.height,
            model.width,
            RADAR_MIN_DEPTH,
            RADAR_BORDER,
        )
        per_radar.append(projected[keep])
    if not per_radar:
        return np.zeros((0, 6), dtype=np.float32)
    kept = nearest_radar_wins(per_radar, model.height, model.width)
    return np.concatenate(kept).astype(np.float32)


class ImageCursor:
    """Decoded frames of one camera, streamed once in bag order: `get(stamp)` for stamps
    asked in increasing order (only the stamps in `wanted` are decoded)."""

    def __init__(self, bag: BagData, camera: str, wanted: Sequence[int]) -> None:
        self.bag, self.camera, self.wanted = bag, camera, sorted(set(wanted))
        self._frames: Iterator[CameraFrame] | None = None
        self._last: CameraFrame | None = None

    def get(self, stamp: int) -> CameraFrame:
        if self._last is not None and self._last.stamp == stamp:
            return self._last
        for restart in (False, True):
            if self._frames is None or restart:
                todo = [s for s in self.wanted if s >= stamp]
                self._frames = self.bag.images(self.camera, stamps=todo)
            for frame in self._frames:
                self._last = frame
                if frame.stamp == stamp:
                    return frame
                if frame.stamp > stamp:
                    break
        raise MissingTopicError(f"bag {self.bag.path} has no {self.camera} image at {stamp} ns")
