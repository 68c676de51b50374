"""ROS 2 bags -> the derived dataset of `lircdepth prepare`, so train/evaluate run unchanged.

`prepare_bags(BagPrepareConfig(bags=[...], out=...))` writes the same files and index as
nuScenes preparation (see `lircdepth.data.prepare`), one sample per keyframe and camera:
a keyframe is a lidar sweep and the images taken with it (the bag's keyframe table, else
found from the stamps: `lircdepth.bagdata.keyframes`). Any layout `lircdepth.bagdata`
reads: raw or compressed cameras with CameraInfo, PointCloud2 radars and lidar (fields
by name and offset), TF from /tf_static and /tf (interpolated).

- radar/T.npy: each chosen radar's sweep nearest to the image, through TF, nearest radar
  wins a pixel (`lircdepth.data.bag_frames`, the reading `predict --bag` uses); the
  object column is 0 (a bag has no boxes).
- lidar_single/T.png: the keyframe sweep, lidar at its stamp -> fixed frame -> camera at
  the image stamp; the depth map rules of nuScenes preparation
  (`accumulate.single_scan_map`, `accumulated_map`).
- lidar_accum/T.png, depth_interp/T.png: a bag has no object boxes, so moving objects
  cannot be removed from a multi-sweep stack (they would leave trails). `accumulation`
  says what is done instead:
    "single" (default): single-scan supervision: the "accumulated" map is the keyframe
        sweep itself and "D" is interpolated from it (sparser, but never a trail);
    "window": every sweep within +/- `accumulate_sweeps` of the keyframe, through the bag's
        TF, moving objects included (for static scenes: parked recordings, empty roads).
- boxes/T.npy: empty (0 x 4): association labels use the patch window of every point.
- image/T.png: the decoded image (lossless).
- index/{train,val,test}.txt: split by bag (bag folder names as scene names, the seeded
  rule for scenes outside nuScenes' official split: `lircdepth.data.splits`).

Sample tokens are `<bag>-<CAMERA>-<image stamp ns>`; a rerun skips samples whose files
exist (writes are atomic), as nuScenes preparation does.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from lircdepth.atomic import write_atomic
from lircdepth.bagdata import BagData
from lircdepth.bagdata.sensors import cloud_name
from lircdepth.data import storage
from lircdepth.data.accumulate import accumulated_map, single_scan_map
from lircdepth.data.association import AssociationConfig, association_label
from lircdepth.data.bag_frames import (
    BagRadars,
    ImageCursor,
    camera_model_at,
    check_image_size,
    radar_points_for_image,
    resolve_names,
)
from lircdepth.data.integrity import file_sizes
from lircdepth.data.interpolate import InterpolationConfig, interpolate_depth
from lircdepth.data.prepare import OUTPUTS, SKIPPED_FILE, output_path
from lircdepth.data.splits import SPLITS, assign_splits
from lircdepth.errors import BadValueError, UserError
from lircdepth.geometry import invert_transform, transform_points
from lircdepth.output_folder import output_folder

ACCUMULATION = ("single", "window")
SPLIT_VERSION = "ros2-bags"  # not a nuScenes version: bags are split by the seeded rule


@dataclass(frozen=True)
class BagPrepareConfig:
    bags: tuple[Path, ...]
    out: Path
    cameras: tuple[str, ...] = ("CAM_FRONT",)
    radars: tuple[str, ...] = ("RADAR_FRONT",)
    lidar: str | None = None  # name or topic; None: the bag's lidar
    fixed_frame: str = "map"
    accumulation: str = "single"
    accumulate_sweeps: int = 80
    interpolation: InterpolationConfig = field(default_factory=InterpolationConfig)
    association: AssociationConfig = field(default_factory=AssociationConfig)
    split_seed: int = 0
    progress: bool = True
    on_error: str = "stop"


@dataclass
class LidarSweep:
    stamp: int
    map_from_lidar: np.ndarray
    points: np.ndarray  # N x 3 float32, lidar frame


def bag_name(path: Path) -> str:
    return Path(path).resolve().name


def sample_token(bag: str, camera: str, stamp: int) -> str:
    return f"{bag}-{camera}-{stamp}"


class BagPreparer:
    """Writes the samples of one bag."""

    def __init__(self, config: BagPrepareConfig, path: Path) -> None:
        self.config, self.bag = config, BagData(path)
        self.name = bag_name(path)
        self.cameras = resolve_names(self.bag, config.cameras, "camera", "--cameras")
        self.radar_names = resolve_names(self.bag, config.radars, "radar", "--radars")
        lidar = config.lidar or self.bag.default_lidar()
        self.bag.cloud_topic(lidar)  # one line when the bag lacks it
        self.lidar = cloud_name(lidar) if lidar.startswith("/") else lidar
        self.keyframes = self.bag.keyframes(self.cameras, self.lidar)

    def samples(self) -> list[tuple[int, str, int]]:
        """(keyframe index, camera, image stamp), camera by camera in time order."""
        return [
            (k, camera, frame.stamps[camera])
            for camera in self.cameras
            for k, frame in enumerate(self.keyframes)
            if camera in frame.stamps
        ]

    def record(self, k: int, camera: str, stamp: int, model) -> dict:
        token = sample_token(self.name, camera, stamp)
        lidar_stamp = self.keyframes[k].lidar_stamp
        return {
            "scene_token": self.name,
            "scene_name": self.name,
            "sample_token": f"{self.name}-{lidar_stamp}",
            "camera": camera,
            "camera_token": token,
            "lidar_token": f"{self.name}-{self.lidar}-{lidar_stamp}",
            "timestamp": stamp // 1000,
            "width": model.width,
            "height": model.height,
            "camera_matrix": model.camera_matrix.tolist(),
            "image": f"image/{token}.png",
            "bag": str(self.bag.path),
            "stamp_ns": stamp,
            "lidar_accumulation": self.config.accumulation,
            **{name: str(output_path(Path("."), name, token)) for name in OUTPUTS},
        }

    def _missing(self, token: str) -> bool:
        out = Path(self.config.out)
        names = [output_path(out, name, token) for name in OUTPUTS]
        return not all(p.is_file() for p in [*names, out / "image" / f"{token}.png"])

    def load_sweeps(self, keyframe_indices: set[int]) -> tuple[list[LidarSweep | None], list[int]]:
        """The lidar sweeps some keyframe needs (in map frame poses; None for the others), and
        each keyframe's place."""
        stamps = sorted({s.stamp for s in self.bag.cloud_stamps(self.lidar)})
        places = [bisect.bisect_left(stamps, f.lidar_stamp) for f in self.keyframes]
        reach = self.config.accumulate_sweeps if self.config.accumulation == "window" else 0
        wanted = {
            stamps[j]
            for k in keyframe_indices
            for j in range(max(0, places[k] - reach), min(len(stamps), places[k] + reach + 1))
        }
        sweeps: dict[int, LidarSweep] = {}
        for cloud in self.bag.clouds(self.lidar, stamps=wanted):
            map_from_lidar = self.bag.map_from_sensor(
                cloud.frame_id, cloud.stamp, self.config.fixed_frame
            )
            sweeps[cloud.stamp] = LidarSweep(
                cloud.stamp, map_from_lidar, cloud.xyz().astype(np.float32)
            )
        return [sweeps.get(s) for s in stamps], places

    def compute(self, k, frame, model, sweeps, places, radars) -> dict[str, np.ndarray]:
        height, width = model.height, model.width
        camera_frame = frame.frame_id or model.frame_id
        camera_from_map = invert_transform(
            self.bag.map_from_sensor(camera_frame, frame.stamp, self.config.fixed_frame)
        )
        radar = radar_points_for_image(
            self.bag, radars, camera_frame, frame.stamp, model, self.config.fixed_frame
        )
        radar = np.column_stack([radar, np.zeros(len(radar), np.float32)]).astype(np.float32)

        def in_camera(sweep: LidarSweep) -> np.ndarray:
            return transform_points(camera_from_map @ sweep.map_from_lidar, sweep.points)

        centre = sweeps[places[k]]
        if centre is None or centre.stamp != self.keyframes[k].lidar_stamp:
            raise BadValueError(
                f"bag {self.bag.path}: no {self.lidar} sweep at {self.keyframes[k].lidar_stamp} ns"
            )
        single = single_scan_map(in_camera(centre), model.camera_matrix, height, width)
        accumulated = single
        if self.config.accumulation == "window":
            reach = self.config.accumulate_sweeps
            window = sweeps[max(0, places[k] - reach) : places[k] + reach + 1]
            stacked = [in_camera(s) for s in window if s is not None]
            accumulated = accumulated_map(stacked, model.camera_matrix, height, width)
        interpolated = interpolate_depth(accumulated, self.config.interpolation)
        boxes = np.zeros((0, 4), dtype=np.float32)
        return {
            "radar": radar,
            "boxes": boxes,
            "lidar_single": single,
            "lidar_accum": accumulated,
            "depth_interp": interpolated,
            "assoc_label": association_label(radar, boxes, interpolated, self.config.association),
        }

    def write(self, record: dict, frame, arrays: dict[str, np.ndarray]) -> None:
        out = Path(self.config.out)
        ok, png = cv2.imencode(".png", cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise storage.StorageError(f"PNG encoding failed for {record['image']}")
        write_atomic(out / record["image"], png.tobytes())
        for name in OUTPUTS:
            storage.save_output(out / record[name], name, arrays[name])

    def run(self, bar: tqdm) -> tuple[list[dict], list[dict]]:
        samples = self.samples()
        todo = [(k, c, s) for k, c, s in samples if self._missing(sample_token(self.name, c, s))]
        sweeps, places = self.load_sweeps({k for k, _, _ in todo}) if todo else ([], [])
        radars = BagRadars(self.bag, self.radar_names) if todo else None
        infos = {camera: self.bag.camera_infos(camera) for camera in self.cameras}
        cursors = {
            c: ImageCursor(self.bag, c, [s for _, cam, s in todo if cam == c]) for c in self.cameras
        }
        records, skipped = [], []
        pending = set(todo)
        for k, camera, stamp in samples:
            where = f"bag {self.bag.path} {camera} at {stamp} ns"
            model = camera_model_at(infos[camera], stamp, where)
            record = self.record(k, camera, stamp, model)
            try:
                if (k, camera, stamp) in pending:
                    frame = cursors[camera].get(stamp)
                    check_image_size(frame, model, where)
                    self.write(record, frame, self.compute(k, frame, model, sweeps, places, radars))
                record["sizes"] = file_sizes(self.config.out, record, list(OUTPUTS))
                records.append(record)
            except UserError as error:
                if self.config.on_error != "skip":
                    raise
                line = str(error).splitlines()[0]
                skipped.append(
                    {
                        "camera": camera,
                        "camera_token": record["camera_token"],
                        "scene_name": self.name,
                        "error": line,
                    }
                )
                tqdm.write(f"skipped {record['camera_token']}: {line}")
            bar.update(1)
        return records, skipped


def prepare_bags(config: BagPrepareConfig) -> dict[str, list[dict]]:
    """Prepare every bag; return (and write) the index of every split."""
    if config.accumulation not in ACCUMULATION:
        raise BadValueError(f"--lidar-accumulation must be one of {', '.join(ACCUMULATION)}")
    names = [bag_name(b) for b in config.bags]
    if len(set(names)) != len(names):
        raise BadValueError(
            f"--bag: two bags have the same folder name ({', '.join(names)}): "
            "bag names are the scene names of the splits"
        )
    preparers = [BagPreparer(config, Path(b)) for b in config.bags]
    with output_folder(config.out, "lircdepth prepare --bag") as out:
        total = sum(len(p.samples()) for p in preparers)
        records, skipped = [], []
        with tqdm(total=total, unit="keyframe", desc="prepare", disable=not config.progress) as bar:
            for preparer in preparers:
                done, bad = preparer.run(bar)
                records += done
                skipped += bad
        storage.write_index(out / "index" / SKIPPED_FILE, skipped)
        splits = assign_splits(SPLIT_VERSION, names, config.split_seed)
        index = {
            split: [r for r in records if r["scene_name"] in set(splits[split])] for split in SPLITS
        }
        for split, split_records in index.items():
            storage.write_index(out / "index" / f"{split}.txt", split_records)
        return index
