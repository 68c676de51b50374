"""Frames from a nuScenes dataroot, read through the devkit as `lircdepth prepare` reads it.

Every keyframe (or, with `sweeps`, every camera image of the scenes) of the chosen
cameras. The radar points of a frame come from `lircdepth.data.radar.radar_points`, the
function that writes the training data's `radar/T.npy`: same sweeps, calibrations, ego
poses and nearest-radar rule. Camera sweeps between keyframes pair each radar's sweep
nearest to the image in time (`pairing="camera"`, as the node pairs online). Outputs are
named `<CAMERA>/<sample_data token>`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from nuscenes.nuscenes import NuScenes

from lircdepth.data.integrity import check_camera_image
from lircdepth.data.nusc_sources import SensorPoses, load_radar, open_nuscenes, resolve_channels
from lircdepth.data.prepare import scene_keyframes, select_scenes
from lircdepth.data.radar import RadarOptions, radar_points, radar_sample_data
from lircdepth.data.splits import SPLITS, assign_splits
from lircdepth.data.storage import load_image_rgb
from lircdepth.errors import UnknownNameError
from lircdepth.predict.frames import FrameInput, FrameJob


def scenes_of_split(nusc: NuScenes, version: str, split: str, seed: int = 0) -> list[str]:
    """Scene names of a split: train/val/test as `lircdepth prepare` assigns them, or any
    split name of the devkit (mini_train, mini_val, ...)."""
    from nuscenes.utils.splits import create_splits_scenes

    names = [scene["name"] for scene in nusc.scene]
    if split in SPLITS:
        return assign_splits(version, names, seed)[split]
    official = create_splits_scenes()
    if split not in official:
        raise UnknownNameError(
            f"--split {split}: not a split name (use {', '.join(SPLITS)} or a devkit split "
            "such as mini_train, mini_val)"
        )
    return [name for name in names if name in set(official[split])]


class NuScenesFrames:
    """The frames of a dataroot and how to load each one."""

    def __init__(self, dataroot: Path, version: str, cameras, radar: RadarOptions) -> None:
        self.nusc = open_nuscenes(Path(dataroot), version)
        self.version = version
        self.cameras = resolve_channels(self.nusc, cameras, "camera", "--cameras")
        self.radar = replace(
            radar, channels=resolve_channels(self.nusc, radar.channels, "radar", "--radars")
        )
        self.poses = SensorPoses(self.nusc)

    def jobs(self, scenes=None, split: str | None = None, sweeps: bool = False) -> list[FrameJob]:
        if split is not None:
            scenes = scenes_of_split(self.nusc, self.version, split)
            if not scenes:
                raise UnknownNameError(
                    f"--split {split}: no scene of {self.nusc.dataroot} is in it"
                )
        jobs = []
        for scene in select_scenes(self.nusc, scenes):
            for camera in self.cameras:
                tokens = self._camera_tokens(scene, camera, sweeps)
                jobs += [self._job(scene, camera, token) for token in tokens]
        return jobs

    def _camera_tokens(self, scene: dict, camera: str, sweeps: bool) -> list[str]:
        keyframes = [
            s["data"][camera] for s in scene_keyframes(self.nusc, scene) if camera in s["data"]
        ]
        if not sweeps or not keyframes:
            return keyframes
        token, last = keyframes[0], keyframes[-1]
        while self.nusc.get("sample_data", token)["prev"]:
            token = self.nusc.get("sample_data", token)["prev"]
        tokens = [token]
        while token != last and self.nusc.get("sample_data", token)["next"]:
            token = self.nusc.get("sample_data", token)["next"]
            tokens.append(token)
        # The chain after the last keyframe still belongs to the scene.
        while self.nusc.get("sample_data", token)["next"]:
            token = self.nusc.get("sample_data", token)["next"]
            if (
                self.nusc.get("sample", self.nusc.get("sample_data", token)["sample_token"])[
                    "scene_token"
                ]
                != scene["token"]
            ):
                break
            tokens.append(token)
        return tokens

    def _job(self, scene: dict, camera: str, token: str) -> FrameJob:
        record = self.nusc.get("sample_data", token)
        source = {
            "sample_data_token": token,
            "sample_token": record["sample_token"],
            "scene": scene["name"],
            "camera": camera,
            "timestamp": record["timestamp"],
            "keyframe": record["is_key_frame"],
            "image": record["filename"],
        }
        return FrameJob(f"{camera}/{token}", source, lambda: self.load(token))

    def radar_points(self, camera_token: str) -> np.ndarray:
        """N x 6 radar points of a camera image, as prepared for training (RADAR_COLUMNS)."""
        record = self.nusc.get("sample_data", camera_token)
        sample = self.nusc.get("sample", record["sample_token"])
        options = self.radar if record["is_key_frame"] else replace(self.radar, pairing="camera")
        boxes = self.nusc.get_boxes(camera_token)
        points = radar_points(
            self.nusc,
            self.poses,
            radar_sample_data(self.nusc, sample, options, camera_token),
            lambda token: load_radar(self.poses.path(token), options.filters),
            camera_token,
            np.zeros(len(boxes), dtype=np.int64),
            (record["width"], record["height"]),
            options,
        )
        return points[:, :6].astype(np.float64)

    def load(self, camera_token: str) -> FrameInput:
        record = self.nusc.get("sample_data", camera_token)
        path = self.poses.path(camera_token)
        check_camera_image(path, record["width"], record["height"])
        return FrameInput(load_image_rgb(path), self.radar_points(camera_token))
