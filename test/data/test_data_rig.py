"""`prepare` on the full synthetic rig: samples for every camera, radar from every radar
(each through its own calibration and ego pose at its own time), the nearest radar
winning a pixel, lidar truth per camera, splits by scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lircdepth.cli import main
from lircdepth.data import storage
from lircdepth.data.interpolate import InterpolationConfig
from lircdepth.data.nusc_sources import SensorPoses, load_radar, open_nuscenes
from lircdepth.data.prepare import OUTPUTS, PrepareConfig, prepare
from lircdepth.data.radar import RadarOptions, nearest_radar_wins, radar_points, radar_sample_data
from lircdepth.geometry import rasterize_radar
from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS

SPLIT_NAMES = ("train", "val", "test")


def _records(out: Path) -> list[dict]:
    return [r for s in SPLIT_NAMES for r in storage.read_index(out / "index" / f"{s}.txt")]


@pytest.fixture(scope="module")
def rig_prepared(full_rig_root, tmp_path_factory) -> Path:
    """Every camera and radar of the full rig, one scene, few sweeps, fast densify."""
    out = tmp_path_factory.mktemp("rig_prepared")
    prepare(
        PrepareConfig(
            dataroot=full_rig_root,
            out=out,
            scenes=["synth-0000"],
            cameras=("all",),
            radar=RadarOptions(channels=("all",)),
            accumulate_sweeps=2,
            accumulate_sweeps_test=2,
            interpolation=InterpolationConfig(method="nearest"),
            progress=False,
        )
    )
    return out


@pytest.fixture(scope="module")
def rig_nusc(full_rig_root):
    return open_nuscenes(full_rig_root, "v1.0-mini")


def test_every_camera_gets_its_own_samples_and_files(rig_prepared, rig_nusc):
    records = {r["camera_token"]: r for r in _records(rig_prepared)}
    scene = next(s for s in rig_nusc.scene if s["name"] == "synth-0000")
    samples = [s for s in rig_nusc.sample if s["scene_token"] == scene["token"]]
    assert len(records) == len(samples) * len(FULL_CAMERAS)
    poses = SensorPoses(rig_nusc)
    for sample in samples:
        for camera in FULL_CAMERAS:
            record = records[sample["data"][camera]]
            assert record["camera"] == camera and record["sample_token"] == sample["token"]
            assert np.allclose(record["camera_matrix"], poses.camera_matrix(sample["data"][camera]))
            assert all((rig_prepared / record[name]).is_file() for name in OUTPUTS)
            assert Path(record["image"]).parent.name == camera


def test_lidar_truth_of_each_camera_is_the_worlds_depth(rig_prepared, full_rig_root):
    """Per camera, lidar depth matches the true depth at its pixel (at 192 x 108 a pixel
    spans a few per cent of depth on the ground; the lidar also sees a side camera's
    surfaces from another place, and objects move between the two trigger times)."""
    relative: dict[str, list[np.ndarray]] = {}
    for record in _records(rig_prepared):
        lidar = storage.load_depth_png(rig_prepared / record["lidar_single"])
        truth = np.load(full_rig_root / "depth_gt" / f"{record['camera_token']}.npy")
        hit = lidar > 0
        assert hit.sum() > 1000, record["camera"]
        relative.setdefault(record["camera"], []).append(
            np.abs(truth[hit] - lidar[hit]) / lidar[hit]
        )
    assert set(relative) == set(FULL_CAMERAS)
    for camera, parts in relative.items():
        errors = np.concatenate(parts)
        assert np.median(errors) < 0.015 and np.mean(errors < 0.05) > 0.85, camera


def test_side_radar_points_sit_on_the_true_depth_of_their_pixel(rig_prepared, full_rig_root):
    """Points tied to an annotated object (object index > 0, so no clutter) in the four
    side cameras, which only the side radars reach, match the world's depth at their pixel."""
    side = {"CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"}
    errors = []
    for record in _records(rig_prepared):
        if record["camera"] not in side:
            continue
        radar = np.load(rig_prepared / record["radar"])
        on_object = radar[radar[:, 6] > 0]
        truth = np.load(full_rig_root / "depth_gt" / f"{record['camera_token']}.npy")
        u, v = np.round(on_object[:, 0]).astype(int), np.round(on_object[:, 1]).astype(int)
        errors.extend(np.abs(truth[v, u] - on_object[:, 2]))
    assert len(errors) >= 5
    assert np.median(errors) < 0.3 and np.mean(np.array(errors) < 1.0) > 0.8, errors


def _radar_in_camera(nusc, sample: dict, camera: str, radars: tuple[str, ...]) -> np.ndarray:
    poses = SensorPoses(nusc)
    token = sample["data"][camera]
    record = nusc.get("sample_data", token)
    options = RadarOptions(channels=radars)
    boxes = nusc.get_boxes(token)
    return radar_points(
        nusc,
        poses,
        radar_sample_data(nusc, sample, options),
        lambda t: load_radar(poses.path(t)),
        token,
        np.arange(len(boxes)),
        (record["width"], record["height"]),
        options,
    )


def test_nearest_radar_wins_every_shared_pixel_of_the_prepared_map(rig_nusc):
    """The map of all radars together is, pixel by pixel, the nearest of the single radars'
    maps (each of those built with the published last-point rule)."""
    shared = 0
    for sample in rig_nusc.sample:
        for camera in ("CAM_FRONT", "CAM_BACK", "CAM_FRONT_LEFT"):
            record = rig_nusc.get("sample_data", sample["data"][camera])
            size = (record["height"], record["width"])
            together = rasterize_radar(
                _radar_in_camera(rig_nusc, sample, camera, FULL_RADARS)[:, :6], *size
            )[0]
            alone = np.stack(
                [
                    rasterize_radar(_radar_in_camera(rig_nusc, sample, camera, (r,))[:, :6], *size)[
                        0
                    ]
                    for r in FULL_RADARS
                ]
            )
            seen = alone > 0
            nearest = np.where(seen, alone, np.inf).min(axis=0)
            assert np.array_equal(together, np.where(seen.any(axis=0), nearest, 0.0))
            shared += int((seen.sum(axis=0) > 1).sum())
    assert shared > 0, "some pixel should be seen by two radars"


def test_nearest_radar_wins_drops_only_the_farther_radars_points():
    # u, v, depth, rcs, vx, vy, object; image 20 x 10.
    first = np.array(
        [[5.0, 5.0, 30.0, 1, 0, 0, 0], [5.2, 4.9, 8.0, 2, 0, 0, 0], [9.0, 3.0, 12.0, 3, 0, 0, 0]]
    )
    second = np.array(
        [[5.1, 5.1, 10.0, 4, 0, 0, 0], [15.0, 7.0, 20.0, 5, 0, 0, 0], [9.0, 3.0, 11.0, 6, 0, 0, 0]]
    )
    kept_first, kept_second = nearest_radar_wins([first, second], 10, 20)
    # Pixel (5, 5): the first radar's last point (8 m) beats 10 m; pixel (9, 3): 11 m wins.
    assert kept_first[:, 3].tolist() == [1, 2]
    assert kept_second[:, 3].tolist() == [5, 6]
    assert nearest_radar_wins([first], 10, 20)[0] is first


def test_prepare_command_takes_cameras_and_radars(full_rig_root, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            *("prepare", "--dataroot", str(full_rig_root), "--out", str(out)),
            *("--scenes", "synth-0001", "--cameras", "CAM_BACK", "CAM_FRONT"),
            *("--radar-channels", "RADAR_BACK_LEFT", "RADAR_BACK_RIGHT"),
            *("--accumulate-sweeps", "1", "--accumulate-sweeps-test", "1"),
            *("--densify", "nearest", "--no-progress"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    records = _records(out)
    assert {r["camera"] for r in records} == {"CAM_BACK", "CAM_FRONT"}
    front = [np.load(out / r["radar"]) for r in records if r["camera"] == "CAM_FRONT"]
    back = [np.load(out / r["radar"]) for r in records if r["camera"] == "CAM_BACK"]
    assert sum(map(len, front)) == 0, "back radars never reach CAM_FRONT"
    assert sum(map(len, back)) > 0


def test_prepare_command_names_an_unknown_camera(full_rig_root, tmp_path, capsys):
    prepare = ["prepare", "--dataroot", str(full_rig_root), "--out", str(tmp_path / "o")]
    code = main([*prepare, "--cameras", "CAM_ROOF"])
    assert code == 2
    error = capsys.readouterr().err
    assert "--cameras" in error and "CAM_ROOF" in error and "CAM_BACK_LEFT" in error


def test_camera_pairing_takes_each_radars_sweep_nearest_to_the_image(rig_nusc):
    """pairing="camera" gives every camera the sweep the node would pair online; the
    published "keyframe" pairing keeps the sample's own sweep."""

    def stamp(token: str) -> int:
        return rig_nusc.get("sample_data", token)["timestamp"]

    moved = 0
    for sample in rig_nusc.sample:
        for camera in FULL_CAMERAS:
            camera_token = sample["data"][camera]
            keyframe = radar_sample_data(
                rig_nusc, sample, RadarOptions(channels=FULL_RADARS), camera_token
            )
            assert keyframe == [sample["data"][radar] for radar in FULL_RADARS]
            paired = radar_sample_data(
                rig_nusc, sample, RadarOptions(channels=FULL_RADARS, pairing="camera"), camera_token
            )
            for radar, token in zip(FULL_RADARS, paired, strict=True):
                chain = [s["token"] for s in rig_nusc.sample_data if s["channel"] == radar]
                best = min(chain, key=lambda t: abs(stamp(t) - stamp(camera_token)))
                assert abs(stamp(token) - stamp(camera_token)) == abs(
                    stamp(best) - stamp(camera_token)
                )
                moved += token != sample["data"][radar]
    assert moved > 0, (
        "the synthetic rig should have cameras whose nearest sweep is not the keyframe's"
    )
