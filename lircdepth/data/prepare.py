"""nuScenes dataroot -> derived dataset (library entry point: `prepare(PrepareConfig(...))`).

Output layout under `out` (one file per keyframe of each chosen camera, default
CAM_FRONT only, named by its camera sample_data token `T`):

    radar/T.npy          N x 7 float32: u, v, depth, rcs, vx, vy, object index (0 = none)
    boxes/T.npy          M x 4 float32 2-D boxes (u_min, v_min, u_max, v_max) of annotations
    lidar_single/T.png   uint16 metres x 256, keyframe LIDAR_TOP sweep (devkit rule: 1 px
                         border margin, last point wins a pixel)
    lidar_accum/T.png    uint16 metres x 256, +/- 80 lidar sweeps (scenes only in the test
                         split: +/- 24 keyframes), movable objects from the current sweep
                         only; per sweep the last point wins, across sweeps the nearest
    depth_interp/T.png   uint16 metres x 256, interpolated accumulated map ("D", linear)
    assoc_label/T.png    uint8 0/1 radar association label
    image/T.jpg          only with copy_images; otherwise the index holds the absolute
                         path of the dataroot's image (relative paths resolve against out)
    index/{train,val,test}.txt   JSON Lines, one sample per line (see `sample_record`)

Radar: every chosen radar's sweep (default RADAR_FRONT) through its own calibration and
ego pose at its own time into each camera; where radars share a pixel the nearest wins
(`radar.nearest_radar_wins`). Lidar truth per camera from the same loaded sweeps.

One process per scene (a fork pool when workers > 1). Each output is written to a temp
name and renamed, so an existing file is always complete; a rerun skips existing files
and recomputes only missing ones.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from nuscenes.nuscenes import NuScenes
from tqdm import tqdm

from lircdepth.atomic import remove_stale_temps
from lircdepth.data import storage
from lircdepth.data.accumulate import WINDOW_CHAINS, SceneLidar, accumulated_map, single_scan_map
from lircdepth.data.association import AssociationConfig, association_label
from lircdepth.data.boxes import MOVABLE_PREFIXES, image_boxes
from lircdepth.data.integrity import changed_files, check_camera_image, file_sizes, previous_sizes
from lircdepth.data.interpolate import InterpolationConfig, interpolate_depth
from lircdepth.data.nusc_sources import (
    PrepareInputError,
    SensorPoses,
    load_radar,
    open_nuscenes,
    resolve_channels,
)
from lircdepth.data.radar import RadarOptions, radar_points, radar_sample_data
from lircdepth.data.splits import SPLITS, assign_splits
from lircdepth.errors import UsageError, UserError
from lircdepth.locks import folder_lock

DEFAULT_CAMERAS = ("CAM_FRONT",)
LIDAR = "LIDAR_TOP"
# Output name -> file extension. The order is the order they are computed in.
OUTPUTS = {
    "radar": ".npy",
    "boxes": ".npy",
    "lidar_single": ".png",
    "lidar_accum": ".png",
    "depth_interp": ".png",
    "assoc_label": ".png",
}
ON_ERROR = ("stop", "skip")
SKIPPED_FILE = "skipped.txt"  # index/skipped.txt: JSON Lines, one skipped keyframe each


@dataclass(frozen=True)
class PrepareConfig:
    """What to prepare. `scenes` = scene names or tokens (None: all).

    `cameras`: camera channels to prepare (published: CAM_FRONT; "all": every camera);
    the radars are `radar.channels`.
    `accumulate_sweeps`: lidar sweeps each way for the accumulated map (published 80);
    `accumulate_sweeps_test` for scenes that are only in the test split (published 24),
    counted along `accumulate_test_chain` ("keyframes", published, or "sweeps").
    """

    dataroot: Path
    version: str = "v1.0-mini"
    out: Path = Path("prepared")
    cameras: tuple[str, ...] = DEFAULT_CAMERAS
    workers: int = 1
    scenes: tuple[str, ...] | list[str] | None = None
    accumulate_sweeps: int = 80
    accumulate_sweeps_test: int = 24
    accumulate_test_chain: str = "keyframes"
    movable_prefixes: tuple[str, ...] = MOVABLE_PREFIXES
    movable_box_margin: float = 0.3
    radar: RadarOptions = field(default_factory=RadarOptions)
    interpolation: InterpolationConfig = field(default_factory=InterpolationConfig)
    association: AssociationConfig = field(default_factory=AssociationConfig)
    split_seed: int = 0
    copy_images: bool = False
    progress: bool = True
    on_error: str = "stop"  # "skip": leave out keyframes with bad inputs, list them


@dataclass
class SceneResult:
    """The index records of one scene's good keyframes and a line per skipped one."""

    records: list[dict]
    skipped: list[dict] = field(default_factory=list)


def output_path(out: Path, name: str, camera_token: str) -> Path:
    return Path(out) / name / f"{camera_token}{OUTPUTS[name]}"


def scene_keyframes(nusc: NuScenes, scene: dict) -> list[dict]:
    samples, token = [], scene["first_sample_token"]
    while token:
        sample = nusc.get("sample", token)
        samples.append(sample)
        token = sample["next"]
    return samples


def sample_record(
    config: PrepareConfig,
    nusc: NuScenes,
    poses: SensorPoses,
    scene: dict,
    sample: dict,
    camera_channel: str = DEFAULT_CAMERAS[0],
) -> dict:
    """One index line: tokens, camera channel, image size, intrinsics and every file
    (relative to out)."""
    if camera_channel not in sample["data"]:
        raise PrepareInputError(f"sample {sample['token']} has no {camera_channel} sample_data")
    camera_token = sample["data"][camera_channel]
    camera = nusc.get("sample_data", camera_token)
    image = (
        f"image/{camera_token}.jpg"
        if config.copy_images
        else str((Path(nusc.dataroot) / camera["filename"]).resolve())
    )
    return {
        "scene_token": scene["token"],
        "scene_name": scene["name"],
        "sample_token": sample["token"],
        "camera": camera_channel,
        "camera_token": camera_token,
        "lidar_token": sample["data"][LIDAR],
        "timestamp": camera["timestamp"],
        "width": camera["width"],
        "height": camera["height"],
        "camera_matrix": poses.camera_matrix(camera_token).tolist(),
        "image": image,
        **{name: str(output_path(Path("."), name, camera_token)) for name in OUTPUTS},
    }


class ScenePreparer:
    """Computes the missing outputs of one scene's keyframes."""

    def __init__(
        self,
        config: PrepareConfig,
        nusc: NuScenes,
        previous: dict[str, dict[str, int]] | None = None,
        window: int = 80,
        window_chain: str = "sweeps",
    ) -> None:
        self.config, self.nusc = config, nusc
        self.window = window  # lidar sweeps (or keyframes, see window_chain) each way
        self.window_chain = window_chain
        self.poses = SensorPoses(nusc)
        self.radar_cache: dict[str, np.ndarray] = {}
        self.previous = previous or {}  # camera token -> output sizes of the last index

    def run(self, scene: dict) -> list[dict]:
        return self.run_scene(scene).records

    def run_scene(self, scene: dict) -> SceneResult:
        """Write the scene's missing outputs; with on_error "skip", bad keyframes are listed."""
        samples = scene_keyframes(self.nusc, scene)
        # (keyframe index, record) for every keyframe and camera, keyframe by keyframe.
        records = [
            (k, sample_record(self.config, self.nusc, self.poses, scene, sample, camera))
            for k, sample in enumerate(samples)
            for camera in self.config.cameras
        ]
        missing = [self._missing(record) for _, record in records]
        todo = sorted({k for (k, _), names in zip(records, missing, strict=True) if names})
        result = SceneResult([])
        bad: set[int] = set()  # positions in `records`
        try:
            lidar = (
                SceneLidar.load(
                    self.nusc,
                    self.poses,
                    [sample["data"][LIDAR] for sample in samples],
                    self.config.movable_prefixes,
                    self.config.movable_box_margin,
                    self.window,
                    keyframes=todo,
                    window_chain=self.window_chain,
                )
                if todo
                else None
            )
        except UserError as error:
            bad = {i for i, (k, _) in enumerate(records) if missing[i]}
            result.skipped += [self._skip(records[i][1], error) for i in sorted(bad)]
        for i, (k, record) in enumerate(records):
            if not missing[i] or i in bad:
                continue
            assert lidar is not None  # loaded: keyframe k is to do
            try:
                self._write_sample(record, samples[k], lidar, k, missing[i])
            except UserError as error:
                bad.add(i)
                result.skipped.append(self._skip(record, error))
        out = Path(self.config.out)
        for i, (_, record) in enumerate(records):
            if i not in bad:
                result.records.append(record | {"sizes": file_sizes(out, record, list(OUTPUTS))})
        return result

    def _skip(self, record: dict, error: Exception) -> dict:
        if self.config.on_error != "skip":
            raise error
        return {
            "camera": record["camera"],
            "camera_token": record["camera_token"],
            "scene_name": record["scene_name"],
            "error": str(error).splitlines()[0],
        }

    def _missing(self, record: dict) -> list[str]:
        out = Path(self.config.out)
        names = [name for name in OUTPUTS if not (out / record[name]).is_file()]
        recorded = self.previous.get(record["camera_token"], {})
        for name in changed_files(out, record, recorded):
            tqdm.write(f"warning: {out / record[name]} changed since it was prepared; recomputing")
            names.append(name)
        if self.config.copy_images and not (out / record["image"]).is_file():
            names.append("image")
        return names

    def _radar_fields(self, token: str) -> np.ndarray:
        if token not in self.radar_cache:
            self.radar_cache[token] = load_radar(self.poses.path(token), self.config.radar.filters)
        return self.radar_cache[token]

    def compute(
        self, record: dict, sample: dict, lidar: SceneLidar, k: int
    ) -> dict[str, np.ndarray]:
        """All derived arrays of one keyframe."""
        camera_token = record["camera_token"]
        size = (record["width"], record["height"])
        T_cam_from_global = self.poses.sensor_from_global(camera_token)
        camera_matrix = self.poses.camera_matrix(camera_token)
        boxes_2d, row_of_box = image_boxes(
            self.nusc.get_boxes(camera_token), T_cam_from_global, camera_matrix, *size
        )
        radar = radar_points(
            self.nusc,
            self.poses,
            radar_sample_data(self.nusc, sample, self.config.radar, camera_token),
            self._radar_fields,
            camera_token,
            row_of_box,
            size,
            self.config.radar,
        )
        height, width = record["height"], record["width"]
        single = single_scan_map(
            lidar.in_camera(k, 0, T_cam_from_global), camera_matrix, height, width
        )
        sweeps = lidar.sweeps_in_camera(k, self.window, T_cam_from_global)
        accumulated = accumulated_map(sweeps, camera_matrix, height, width)
        interpolated = interpolate_depth(accumulated, self.config.interpolation)
        return {
            "radar": radar,
            "boxes": boxes_2d,
            "lidar_single": single,
            "lidar_accum": accumulated,
            "depth_interp": interpolated,
            "assoc_label": association_label(
                radar, boxes_2d, interpolated, self.config.association
            ),
        }

    def _write_sample(
        self, record: dict, sample: dict, lidar: SceneLidar, k: int, missing: list[str]
    ) -> None:
        out = Path(self.config.out)
        source = self.poses.path(record["camera_token"])
        check_camera_image(source, record["width"], record["height"])
        if "image" in missing:
            storage.write_atomic(out / record["image"], source.read_bytes())
        arrays = self.compute(record, sample, lidar, k)
        for name in missing:
            if name == "image":
                continue
            storage.save_output(out / record[name], name, arrays[name])


# Set in the parent before forking so every worker shares the loaded tables.
_WORKER_STATE: dict[str, Any] = {}


def _prepare_scene(scene_token: str) -> SceneResult:
    config, nusc = _WORKER_STATE["config"], _WORKER_STATE["nusc"]
    window = _WORKER_STATE["windows"][scene_token]
    chain = _WORKER_STATE["chains"][scene_token]
    preparer = ScenePreparer(config, nusc, _WORKER_STATE["previous"], window, chain)
    return preparer.run_scene(nusc.get("scene", scene_token))


def accumulation_windows(
    config: PrepareConfig, scenes: list[dict], splits: dict[str, list[str]]
) -> dict[str, int]:
    """Lidar sweeps each way per scene token: the test window for test-only scenes."""
    test_only = set(splits["test"]) - set(splits["train"]) - set(splits["val"])
    return {
        scene["token"]: config.accumulate_sweeps_test
        if scene["name"] in test_only
        else config.accumulate_sweeps
        for scene in scenes
    }


def accumulation_chains(
    config: PrepareConfig, scenes: list[dict], splits: dict[str, list[str]]
) -> dict[str, str]:
    """What the window counts per scene token: keyframes (published) for test-only scenes."""
    test_only = set(splits["test"]) - set(splits["train"]) - set(splits["val"])
    return {
        scene["token"]: config.accumulate_test_chain if scene["name"] in test_only else "sweeps"
        for scene in scenes
    }


def select_scenes(nusc: NuScenes, wanted: list[str] | tuple[str, ...] | None) -> list[dict]:
    if not wanted:
        return list(nusc.scene)
    by_key = {s["name"]: s for s in nusc.scene} | {s["token"]: s for s in nusc.scene}
    unknown = [name for name in wanted if name not in by_key]
    if unknown:
        raise PrepareInputError(f"scenes not in this version: {', '.join(unknown)}")
    return list({by_key[name]["token"]: by_key[name] for name in wanted}.values())


def _run_scenes(config: PrepareConfig, scene_tokens: list[str], total: int) -> SceneResult:
    done = SceneResult([])

    def add(result: SceneResult) -> None:
        done.records.extend(result.records)
        done.skipped.extend(result.skipped)
        bar.update(len(result.records) + len(result.skipped))

    with tqdm(total=total, unit="keyframe", desc="prepare", disable=not config.progress) as bar:
        if config.workers > 1 and len(scene_tokens) > 1:
            context = multiprocessing.get_context("fork")
            try:
                with context.Pool(min(config.workers, len(scene_tokens))) as pool:
                    for result in pool.imap_unordered(_prepare_scene, scene_tokens):
                        add(result)
            except BaseException:
                # Leaving the block terminated the workers (SIGTERM, waited for): one
                # stopped mid-write cannot remove its temp file, so the job does.
                remove_stale_temps(config.out, recursive=True)
                raise
        else:
            for token in scene_tokens:
                add(_prepare_scene(token))
    return done


def prepare(config: PrepareConfig) -> dict[str, list[dict]]:
    """Prepare the selected scenes; return (and write) the index of every split."""
    nusc = open_nuscenes(Path(config.dataroot), config.version)
    config = replace(
        config,
        cameras=resolve_channels(nusc, config.cameras, "camera", "--cameras"),
        radar=replace(
            config.radar,
            channels=resolve_channels(nusc, config.radar.channels, "radar", "--radars"),
        ),
    )
    scenes = select_scenes(nusc, config.scenes)
    if not scenes:
        raise PrepareInputError(f"nothing to prepare: {config.dataroot} lists no scene")
    if config.on_error not in ON_ERROR:
        raise UsageError(
            f"--on-error must be one of {', '.join(ON_ERROR)}, got {config.on_error!r}"
        )
    with folder_lock(config.out, "lircdepth prepare"):
        return _prepare_scenes(config, nusc, scenes, Path(config.out))


def _prepare_scenes(
    config: PrepareConfig, nusc: NuScenes, scenes: list[dict], out: Path
) -> dict[str, list[dict]]:
    """Prepare `scenes` into the (locked) folder `out`; write and return the index."""
    splits = assign_splits(config.version, [scene["name"] for scene in scenes], config.split_seed)
    if config.accumulate_test_chain not in WINDOW_CHAINS:
        raise UsageError(
            f"--accumulate-test-chain must be one of {', '.join(WINDOW_CHAINS)}, "
            f"got {config.accumulate_test_chain!r}"
        )
    _WORKER_STATE.update(
        config=config,
        nusc=nusc,
        windows=accumulation_windows(config, scenes, splits),
        chains=accumulation_chains(config, scenes, splits),
        previous=previous_sizes(out / "index", SPLITS),
    )
    try:
        total = sum(scene["nbr_samples"] for scene in scenes) * len(config.cameras)
        done = _run_scenes(config, [scene["token"] for scene in scenes], total)
    finally:
        _WORKER_STATE.clear()
    records = done.records
    storage.write_index(out / "index" / SKIPPED_FILE, done.skipped)
    order = {scene["token"]: i for i, scene in enumerate(scenes)}
    camera_order = {camera: i for i, camera in enumerate(config.cameras)}
    records.sort(key=lambda r: (order[r["scene_token"]], r["timestamp"], camera_order[r["camera"]]))
    index = {
        split: [r for r in records if r["scene_name"] in set(splits[split])] for split in SPLITS
    }
    for split, split_records in index.items():
        storage.write_index(out / "index" / f"{split}.txt", split_records)
    return index
