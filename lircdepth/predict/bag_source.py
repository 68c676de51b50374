"""Frames from ROS 2 bags (any layout `lircdepth.bagdata` reads): every image of the chosen
cameras, or only the keyframes (a lidar sweep and the images taken with it).

Radar points per image come from `lircdepth.data.bag_frames`, the reading `prepare --bag`
uses. Outputs are named `<bag folder name>/<CAMERA>/<image header stamp ns>`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from lircdepth.bagdata import BagData
from lircdepth.data.bag_frames import (
    BagRadars,
    ImageCursor,
    camera_model_at,
    check_image_size,
    radar_points_for_image,
    resolve_names,
)
from lircdepth.predict.frames import FrameInput, FrameJob


class BagFrames:
    """The frames of one bag and how to load them (images streamed in bag order)."""

    def __init__(self, path: Path, cameras: Sequence[str], radars: Sequence[str], fixed: str):
        self.bag = BagData(path)
        self.cameras = resolve_names(self.bag, cameras, "camera", "--cameras")
        self.radar_names = resolve_names(self.bag, radars, "radar", "--radars")
        self.fixed = fixed
        self._radars: BagRadars | None = None
        self._infos: dict[str, dict] = {}
        self._cursors: dict[str, ImageCursor] = {}

    def stamps(self, camera: str, keyframes: bool) -> list[int]:
        if not keyframes:
            return [s.stamp for s in self.bag.image_stamps(camera)]
        frames = self.bag.keyframes(self.cameras)
        return [k.stamps[camera] for k in frames if camera in k.stamps]

    def jobs(self, keyframes: bool) -> list[FrameJob]:
        jobs = []
        for camera in self.cameras:
            for stamp in self.stamps(camera, keyframes):
                source = {
                    "bag": str(self.bag.path),
                    "camera": camera,
                    "stamp_ns": stamp,
                    "topic": self.bag.camera(camera).image_topic,
                }
                jobs.append(
                    FrameJob(
                        f"{self.bag.path.name}/{camera}/{stamp}",
                        source,
                        functools.partial(self.load, camera, stamp),
                    )
                )
        return jobs

    def plan(self, todo: Sequence[FrameJob]) -> None:
        """Decode only the images of frames that will be predicted."""
        for camera in self.cameras:
            wanted = [
                j.source["stamp_ns"]
                for j in todo
                if j.source.get("camera") == camera and j.source.get("bag") == str(self.bag.path)
            ]
            self._cursors[camera] = ImageCursor(self.bag, camera, wanted)

    def load(self, camera: str, stamp: int) -> FrameInput:
        cursor = self._cursors.setdefault(camera, ImageCursor(self.bag, camera, []))
        if stamp not in cursor.wanted:
            cursor.wanted = sorted({*cursor.wanted, stamp})
        frame = cursor.get(stamp)
        where = f"bag {self.bag.path} {camera} at {stamp} ns"
        if camera not in self._infos:
            self._infos[camera] = self.bag.camera_infos(camera)
        model = camera_model_at(self._infos[camera], stamp, where)
        check_image_size(frame, model, where)
        if self._radars is None:
            self._radars = BagRadars(self.bag, self.radar_names)
        points = radar_points_for_image(
            self.bag, self._radars, frame.frame_id or model.frame_id, stamp, model, self.fixed
        )
        return FrameInput(frame.rgb, points.astype("float64"))


class BagJobs(list):
    """The jobs of several bags, with `plan(todo)` telling each bag what will be loaded."""

    def __init__(self, sources: list[BagFrames], keyframes: bool) -> None:
        super().__init__(job for source in sources for job in source.jobs(keyframes))
        self.sources = sources

    def plan(self, todo: Sequence[FrameJob]) -> None:
        for source in self.sources:
            source.plan(todo)


def bag_jobs(bags: Sequence[Path], cameras, radars, keyframes: bool, fixed: str) -> BagJobs:
    return BagJobs([BagFrames(Path(b), cameras, radars, fixed) for b in bags], keyframes)
