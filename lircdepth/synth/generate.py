"""Write a synthetic world in the exact nuScenes on-disk format, deterministically by seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lircdepth.geometry import make_transform, matrix_to_quaternion
from lircdepth.synth import formats, tables
from lircdepth.synth.config import (
    CAMERA_RATE,
    KEYFRAME_PERIOD,
    LIDAR_RATE,
    RADAR_RATE,
    SensorMount,
    SynthConfig,
    camera_matrix,
    sensor_rig,
)
from lircdepth.synth.sensors import lidar_sweep, radar_sweep, render_camera, unoccluded_pixels
from lircdepth.synth.world import KINDS, Scene, Snapshot, build_scene, snapshot

EPOCH_US = 1_532_402_927_000_000
HISTORY = 0.5  # seconds of lidar/radar sweeps recorded before the first keyframe
ANNOTATION_RANGE = 80.0


@dataclass
class SceneTables:
    """The rows one scene contributes to each nuScenes table."""

    rows: dict[str, list[dict]] = field(default_factory=lambda: {n: [] for n in tables.TABLE_NAMES})


@dataclass(frozen=True)
class Frame:
    """One sample_data to produce: channel, time, and whether it is the keyframe of sample k."""

    channel: str
    index: int
    time: float
    keyframe_of: int | None


def _channel_frames(
    channel: str, times: np.ndarray, keyframes: int, indices: np.ndarray | None = None
) -> list[Frame]:
    """Frames at the given times; sample k's keyframe is the one nearest k * period."""
    indices = np.arange(len(times)) if indices is None else indices
    key_index = {int(np.argmin(np.abs(times - k * KEYFRAME_PERIOD))): k for k in range(keyframes)}
    return [
        Frame(channel, int(j), float(t), key_index.get(row))
        for row, (j, t) in enumerate(zip(indices, times, strict=True))
    ]


def _frame_schedule(
    keyframes: int, camera_sweeps: bool, rig: dict[str, SensorMount]
) -> list[Frame]:
    """Sensor timestamps at nuScenes rates, each channel shifted by its trigger offset;
    each sample's keyframes are the nearest ones. Order: cameras, lidar, radars (the
    order the scene's random generator is drawn in)."""
    end = (keyframes - 1) * KEYFRAME_PERIOD
    frames = []
    per_key = int(CAMERA_RATE * KEYFRAME_PERIOD)
    camera_step = 1 if camera_sweeps else per_key
    camera_ticks = np.arange(0, per_key * (keyframes - 1) + 1, camera_step)
    lidar_ticks = np.arange(-int(HISTORY * LIDAR_RATE), int(LIDAR_RATE * end) + 1)
    radar_ticks = np.arange(-HISTORY, end + 1.0 / RADAR_RATE, 1.0 / RADAR_RATE)
    for channel, mount in rig.items():
        if mount.modality == "camera":
            times = camera_ticks / CAMERA_RATE + mount.time_offset
            frames += _channel_frames(channel, times, keyframes, camera_ticks)
        elif mount.modality == "lidar":
            frames += _channel_frames(channel, lidar_ticks / LIDAR_RATE, keyframes, lidar_ticks)
        else:
            times = radar_ticks + mount.time_offset
            frames += _channel_frames(channel, times[times <= end + 0.5 / RADAR_RATE], keyframes)
    return frames


def ego_transform(scene: Scene, t: float) -> np.ndarray:
    position, yaw = scene.ego_pose(t)
    return make_transform([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)], position)


def _visible_fraction(
    boxes: Snapshot, i: int, object_ids: np.ndarray, T_world_from_cam: np.ndarray, K: np.ndarray
) -> float:
    """Pixels where box i is seen, over pixels it would cover if nothing occluded it."""
    seen = int((object_ids == i).sum())
    if seen == 0:
        return 0.0
    height, width = object_ids.shape
    alone = unoccluded_pixels(boxes, i, T_world_from_cam, K, width, height)
    return seen / max(alone, seen)


class SceneWriter:
    """Renders and writes one scene; returns its table rows."""

    def __init__(self, out: Path, config: SynthConfig, scene_index: int) -> None:
        self.out, self.config, self.index = out, config, scene_index
        self.tokens = tables.Tokens(config.seed)
        self.rng = np.random.default_rng([config.seed, scene_index])
        duration = (config.keyframes - 1) * KEYFRAME_PERIOD + HISTORY + 1.0
        self.scene = build_scene(self.rng, duration, history=HISTORY)
        self.rig = sensor_rig(config.rig)
        self.K = {
            channel: camera_matrix(config.width, config.height, channel)
            for channel, mount in self.rig.items()
            if mount.modality == "camera"
        }
        self.log_name = f"synth-{config.seed}-{scene_index:04d}"
        self.t0 = EPOCH_US + scene_index * 60_000_000
        self.result = SceneTables()
        self.lidar_hits: dict[int, np.ndarray] = {}
        self.radar_hits: dict[int, list[np.ndarray]] = {}  # per keyframe, one per radar
        # Per keyframe, per camera: object id image and camera pose.
        self.camera_ids: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {}

    def timestamp(self, t: float) -> int:
        return self.t0 + int(round(t * 1e6))

    def token(self, *parts: object) -> str:
        return self.tokens("scene", self.index, *parts)

    def run(self) -> SceneTables:
        rows = self.result.rows
        log_token = self.token("log")
        rows["log"].append(
            {
                "token": log_token,
                "logfile": self.log_name,
                "vehicle": "synth-ego",
                "date_captured": "2018-07-24",
                "location": "synth-city",
            }
        )
        calib = {ch: self._calibrated_sensor(m) for ch, m in self.rig.items()}
        samples = [
            {
                "token": self.token("sample", k),
                "timestamp": self.timestamp(k * KEYFRAME_PERIOD),
                "scene_token": self.token(),
            }
            for k in range(self.config.keyframes)
        ]
        tables.link_chain(samples)
        rows["sample"] += samples
        by_channel: dict[str, list[dict]] = {ch: [] for ch in self.rig}
        for frame in _frame_schedule(self.config.keyframes, self.config.camera_sweeps, self.rig):
            by_channel[frame.channel].append(
                self._sample_data(frame, calib[frame.channel], samples)
            )
        for records in by_channel.values():
            tables.link_chain(records)
            rows["sample_data"] += records
        self._annotate(samples)
        rows["scene"].append(
            {
                "token": self.token(),
                "log_token": log_token,
                "nbr_samples": len(samples),
                "first_sample_token": samples[0]["token"],
                "last_sample_token": samples[-1]["token"],
                "name": f"synth-{self.index:04d}",
                "description": f"synthetic world, seed {self.config.seed}, scene {self.index}",
            }
        )
        return self.result

    def _calibrated_sensor(self, mount: SensorMount) -> str:
        token = self.token("calibrated_sensor", mount.channel)
        self.result.rows["calibrated_sensor"].append(
            {
                "token": token,
                "sensor_token": self.tokens("sensor", mount.channel),
                "translation": mount.translation,
                "rotation": mount.rotation,
                "camera_intrinsic": self.K[mount.channel].tolist()
                if mount.modality == "camera"
                else [],
            }
        )
        return token

    def _sample_data(self, frame: Frame, calib_token: str, samples: list[dict]) -> dict:
        t = frame.time
        stamp = self.timestamp(t)
        T_world_from_ego = ego_transform(self.scene, t)
        ego_token = self.token("ego_pose", frame.channel, frame.index)
        self.result.rows["ego_pose"].append(
            {
                "token": ego_token,
                "timestamp": stamp,
                "rotation": [float(x) for x in matrix_to_quaternion(T_world_from_ego[:3, :3])],
                "translation": [float(x) for x in T_world_from_ego[:3, 3]],
            }
        )
        is_key = frame.keyframe_of is not None
        owner = (
            frame.keyframe_of
            if frame.keyframe_of is not None
            else min(max(int(np.ceil(t / KEYFRAME_PERIOD)), 0), len(samples) - 1)
        )
        mount = self.rig[frame.channel]
        T_world_from_sensor = T_world_from_ego @ mount.T_ego_from_sensor
        boxes = snapshot(self.scene, t)
        folder = "samples" if is_key else "sweeps"
        extension = {"camera": "jpg", "lidar": "pcd.bin", "radar": "pcd"}[mount.modality]
        filename = f"{folder}/{frame.channel}/{self.log_name}__{frame.channel}__{stamp}.{extension}"
        path = self.out / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        token = self.token("sample_data", frame.channel, frame.index)
        width = height = 0
        if mount.modality == "camera":
            image, depth, object_ids = render_camera(
                self.scene,
                boxes,
                T_world_from_sensor,
                self.K[frame.channel],
                self.config.width,
                self.config.height,
            )
            formats.write_jpeg(path, image, self.config.jpeg_quality)
            height, width = depth.shape
            if frame.keyframe_of is not None:  # is_key
                depth_dir = self.out / "depth_gt"
                depth_dir.mkdir(exist_ok=True)
                np.save(depth_dir / f"{token}.npy", depth)
                views = self.camera_ids.setdefault(frame.keyframe_of, {})
                views[frame.channel] = (object_ids, T_world_from_sensor)
        elif mount.modality == "lidar":
            cloud, hit_ids = lidar_sweep(self.scene, boxes, T_world_from_sensor, self.rng)
            formats.write_lidar_bin(path, cloud)
            if frame.keyframe_of is not None:  # is_key
                self.lidar_hits[frame.keyframe_of] = hit_ids
        else:
            fields, hit_ids = radar_sweep(
                boxes,
                T_world_from_sensor,
                self.scene.rigid_velocity(t, T_world_from_sensor[:3, 3]),
                self.rng,
                mount.half_fov_deg,
            )
            formats.write_radar_pcd(path, fields)
            if frame.keyframe_of is not None:  # is_key
                self.radar_hits.setdefault(frame.keyframe_of, []).append(hit_ids)
        return {
            "token": token,
            "sample_token": samples[owner]["token"],
            "ego_pose_token": ego_token,
            "calibrated_sensor_token": calib_token,
            "timestamp": stamp,
            "fileformat": extension.split(".")[0],
            "is_key_frame": is_key,
            "height": height,
            "width": width,
            "filename": filename,
        }

    def _annotate(self, samples: list[dict]) -> None:
        rows = self.result.rows
        per_instance: dict[int, list[dict]] = {}
        for k, sample in enumerate(samples):
            t = k * KEYFRAME_PERIOD
            boxes = snapshot(self.scene, t)
            ego_position, _ = self.scene.ego_pose(t)
            views = self.camera_ids.get(k, {})
            for i, agent in enumerate(self.scene.agents):
                if not KINDS[agent.kind].annotated:
                    continue
                n_lidar = int((self.lidar_hits[k] == i).sum())
                n_radar = sum(int((hits == i).sum()) for hits in self.radar_hits[k])
                distance = np.linalg.norm(boxes.centres[i, :2] - ego_position[:2])
                if n_lidar + n_radar == 0 or distance > ANNOTATION_RANGE:
                    continue
                visible = max(
                    (
                        _visible_fraction(boxes, i, ids, T_world_from_cam, self.K[channel])
                        for channel, (ids, T_world_from_cam) in views.items()
                    ),
                    default=0.0,
                )
                yaw = boxes.yaws[i]
                per_instance.setdefault(i, []).append(
                    {
                        "token": self.token("annotation", i, k),
                        "sample_token": sample["token"],
                        "instance_token": self.token("instance", i),
                        "visibility_token": tables.visibility_token(visible),
                        "attribute_tokens": [
                            self.tokens("attribute", self._attribute(agent.kind, agent.speed))
                        ],
                        "translation": [float(x) for x in boxes.centres[i]],
                        "size": [float(x) for x in agent.size],
                        "rotation": [float(np.cos(yaw / 2)), 0.0, 0.0, float(np.sin(yaw / 2))],
                        "num_lidar_pts": n_lidar,
                        "num_radar_pts": n_radar,
                    }
                )
        for i, instance_annotations in sorted(per_instance.items()):
            tables.link_chain(instance_annotations)
            rows["sample_annotation"] += instance_annotations
            rows["instance"].append(
                {
                    "token": self.token("instance", i),
                    "category_token": self.tokens(
                        "category", KINDS[self.scene.agents[i].kind].category
                    ),
                    "nbr_annotations": len(instance_annotations),
                    "first_annotation_token": instance_annotations[0]["token"],
                    "last_annotation_token": instance_annotations[-1]["token"],
                }
            )

    @staticmethod
    def _attribute(kind: str, speed: float) -> str:
        if kind == "pedestrian":
            return "pedestrian.moving" if speed > 0.2 else "pedestrian.standing"
        return "vehicle.moving" if speed > 0.5 else "vehicle.parked"


def _write_scene(args: tuple[Path, SynthConfig, int]) -> SceneTables:
    out, config, index = args
    return SceneWriter(out, config, index).run()


def _counted(parts, bar: tqdm) -> list:
    """The scenes' parts in order, advancing `bar` as each one is done."""
    done = []
    for part in parts:
        done.append(part)
        bar.update(1)
    return done


def generate(
    out_dir: Path, config: SynthConfig | None = None, workers: int = 1, progress: bool = True
) -> Path:
    """Generate the world under `out_dir` (the dataroot) and return it.

    Scenes are independent (own seeded generator), so `workers` > 1 renders them in
    parallel processes with byte-identical results. `progress`: a bar over the scenes.
    """
    config = config or SynthConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokens = tables.Tokens(config.seed)
    jobs = [(out, config, i) for i in range(config.scenes)]
    with tqdm(total=len(jobs), desc="synthetic world", unit="scene", disable=not progress) as bar:
        if workers > 1 and config.scenes > 1:
            with get_context("spawn").Pool(min(workers, config.scenes)) as pool:
                parts = _counted(pool.imap(_write_scene, jobs), bar)
        else:
            parts = _counted(map(_write_scene, jobs), bar)
    merged = tables.vocabulary_tables(tokens)
    for name in tables.TABLE_NAMES:
        merged.setdefault(name, [])
        for part in parts:
            merged[name] += part.rows[name]
    merged["sensor"] = [
        {"token": tokens("sensor", ch), "channel": ch, "modality": m.modality}
        for ch, m in sensor_rig(config.rig).items()
    ]
    map_token = tokens("map")
    merged["map"] = [
        {
            "token": map_token,
            "log_tokens": [log["token"] for log in merged["log"]],
            "category": "semantic_prior",
            "filename": f"maps/{map_token}.png",
        }
    ]
    formats.write_blank_map(out / merged["map"][0]["filename"])
    tables.write_tables(out / config.version, merged)
    return out
