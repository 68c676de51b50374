"""`lircdepth predict` on files, a nuScenes dataroot and a bag, against `DepthEstimator` on
the same inputs; resume; one-line errors; the radar map equals the training one."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
import yaml
from nuscenes.nuscenes import NuScenes
from scipy.spatial.transform import Rotation

from lircdepth.cli import main
from lircdepth.data.radar import RadarOptions
from lircdepth.geometry import invert_transform, make_transform, transform_points
from lircdepth.inference.estimator import DepthEstimator
from lircdepth.predict.nuscenes_source import NuScenesFrames
from lircdepth.predict.outputs import depth_png
from lircdepth.predict.runner import SUMMARY_FILE

VERSION = "v1.0-mini"
SCENE = "synth-0000"
TORCH_CPU = ["--backend", "torch", "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def estimator(student_checkpoint):
    return DepthEstimator.from_checkpoint(student_checkpoint, device="cpu", backend="torch")


@pytest.fixture(scope="module")
def nusc(full_rig_root):
    return NuScenes(VERSION, str(full_rig_root), verbose=False)


def predict(*args) -> int:
    return main(["predict", *map(str, args), *TORCH_CPU])


def summary_of(out):
    return json.loads((out / SUMMARY_FILE).read_text())


def assert_outputs_match(out, name, expected: np.ndarray):
    depth = np.load(out / f"{name}.npy")
    assert depth.dtype == np.float32 and depth.shape == expected.shape
    np.testing.assert_allclose(depth, expected, rtol=0, atol=1e-4)
    png = cv2.imread(str(out / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16
    np.testing.assert_array_equal(png, depth_png(depth, "mm"))
    near = depth < 60
    np.testing.assert_allclose(png[near] / 1000.0, depth[near], atol=5e-4)


def test_dataroot_frames_equal_the_estimator_and_resume(
    full_rig_root, student_checkpoint, estimator, tmp_path
):
    out = tmp_path / "pred"
    args = ["--checkpoint", student_checkpoint, "--out", out, "--dataroot", full_rig_root]
    args += ["--scenes", SCENE, "--cameras", "CAM_FRONT", "CAM_BACK", "--radars", "all", "--color"]
    assert predict(*args) == 0
    summary = summary_of(out)
    assert summary["predicted"] == 6 and summary["frames"] == 6 and not summary["failed"]
    frames = NuScenesFrames(
        full_rig_root, VERSION, ["CAM_FRONT", "CAM_BACK"], RadarOptions(channels=("all",))
    )
    for job in frames.jobs([SCENE]):
        assert summary["frame_names"][job.name]["sample_data_token"] == job.name.split("/")[1]
        loaded = job.load()
        expected = estimator.estimate(loaded.image, loaded.radar_points).depth
        assert_outputs_match(out, job.name, expected)
        assert (out / f"{job.name}_color.png").is_file()
    # Resume: a complete rerun predicts nothing; a frame that lost a file is redone alone.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")}
    assert predict(*args) == 0
    assert summary_of(out)["predicted"] == 0 and summary_of(out)["already_complete"] == 6
    victim = sorted(stamps)[0]
    victim.unlink()
    assert predict(*args) == 0
    assert summary_of(out)["predicted"] == 1
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p != victim)


def test_radar_input_is_the_training_radar_map(prepared_root, synth_root):
    """One code path: predict's radar points for a keyframe are the prepared ones, and the
    map the estimator builds from them is the Dataset's eval radar map."""
    from lircdepth.data.dataset import RadarCameraDataset
    from lircdepth.data.storage import load_npy
    from lircdepth.inference import preprocess

    frames = NuScenesFrames(synth_root, VERSION, ["CAM_FRONT"], RadarOptions())
    dataset = RadarCameraDataset(prepared_root, "train", mode="eval")
    checked = 0
    for index, record in enumerate(dataset.records[:3]):
        points = frames.radar_points(record["camera_token"])
        stored = load_npy(prepared_root / record["radar"])[:, :6]
        np.testing.assert_array_equal(points, stored)
        layout = preprocess.plan_layout(record["height"], record["width"])
        ours = preprocess.radar_map(points, layout).numpy()
        np.testing.assert_array_equal(ours, dataset[index]["radar"].numpy())
        checked += int(len(points) > 0)
    assert checked > 0


def write_files(nusc, folder, count=2):
    """Images, radar in the radar frame (.npy, .csv and the original .pcd) and a calibration
    of CAM_FRONT / RADAR_FRONT from the dataroot's keyframes (static mounts, the ego pose of
    each sensor at its time: T_camera_from_radar of the first keyframe)."""
    images, radar = folder / "images", folder / "radar"
    images.mkdir(parents=True)
    radar.mkdir()
    frames = []
    for k, sample in enumerate(nusc.sample[:count]):
        cam = nusc.get("sample_data", sample["data"]["CAM_FRONT"])
        rad = nusc.get("sample_data", sample["data"]["RADAR_FRONT"])
        shutil.copy(nusc.get_sample_data_path(cam["token"]), images / f"frame{k}.jpg")
        frames.append((cam, rad))
    return images, radar, frames


def global_from(nusc, record):
    calib = nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
    pose = nusc.get("ego_pose", record["ego_pose_token"])
    return make_transform(np.array(pose["rotation"]), pose["translation"]) @ make_transform(
        np.array(calib["rotation"]), calib["translation"]
    )


def test_files_in_the_radar_and_camera_frames(nusc, student_checkpoint, estimator, tmp_path):
    from nuscenes.utils.data_classes import RadarPointCloud

    images, radar, frames = write_files(nusc, tmp_path)
    cam, rad = frames[0]
    camera_from_radar = invert_transform(global_from(nusc, cam)) @ global_from(nusc, rad)
    calib = nusc.get("calibrated_sensor", cam["calibrated_sensor_token"])
    xyzw = Rotation.from_matrix(camera_from_radar[:3, :3]).as_quat().tolist()
    calibration = tmp_path / "calib.yaml"
    calibration.write_text(
        yaml.safe_dump(
            {
                "camera_info": {
                    "width": cam["width"],
                    "height": cam["height"],
                    "k": np.asarray(calib["camera_intrinsic"]).ravel().tolist(),
                },
                "extrinsic": {
                    "translation": camera_from_radar[:3, 3].tolist(),
                    "rotation_xyzw": xyzw,
                },
            }
        )
    )
    RadarPointCloud.disable_filters()
    try:
        points = [
            RadarPointCloud.from_file(nusc.get_sample_data_path(r["token"])).points
            for _, r in frames
        ]
    finally:
        RadarPointCloud.default_filters()
    columns = [0, 1, 2, 5, 6, 7]  # x, y, z, rcs, vx, vy
    np.save(radar / "frame0.npy", points[0][columns].T)
    shutil.copy(nusc.get_sample_data_path(frames[1][1]["token"]), radar / "frame1.pcd")
    out = tmp_path / "out"
    argv = ["--checkpoint", student_checkpoint, "--out", out, "--images", images]
    argv += ["--radar", radar, "--calibration", calibration]
    assert predict(*argv) == 0
    K = np.asarray(calib["camera_intrinsic"])
    for k in range(2):
        image = cv2.cvtColor(cv2.imread(str(images / f"frame{k}.jpg")), cv2.COLOR_BGR2RGB)
        xyz = transform_points(camera_from_radar, points[k][:3].T)
        expected = estimator.estimate(
            image, points_cam=xyz, features=points[k][[5, 6, 7]].T, camera_matrix=K
        ).depth
        assert_outputs_match(out, f"frame{k}", expected)
    # The same radar already in the camera frame, as CSV with a header in another order.
    camera_radar = tmp_path / "camera_radar"
    camera_radar.mkdir()
    xyz = transform_points(camera_from_radar, points[0][:3].T)
    table = np.column_stack([points[0][[5, 6, 7]].T, xyz])
    np.savetxt(
        camera_radar / "frame0.csv", table, delimiter=",", header="rcs,vx,vy,x,y,z", comments=""
    )
    out2 = tmp_path / "out2"
    inputs = ["--images", images / "frame0.jpg", "--radar", camera_radar / "frame0.csv"]
    frame = ["--calibration", calibration, "--radar-frame", "camera"]
    assert predict("--checkpoint", student_checkpoint, "--out", out2, *inputs, *frame) == 0
    np.testing.assert_allclose(np.load(out2 / "frame0.npy"), np.load(out / "frame0.npy"), atol=1e-4)


def test_bad_inputs_are_one_line(nusc, student_checkpoint, tmp_path, capsys):
    images, radar, frames = write_files(nusc, tmp_path)
    cam = frames[0][0]
    good = {
        "camera_info": {
            "width": cam["width"],
            "height": cam["height"],
            "k": [100.0, 0, 96, 0, 100.0, 54, 0, 0, 1],
        },
        "extrinsic": {"translation": [0, 0, 0], "rotation_xyzw": [0, 0, 0, 1]},
    }
    calibration = tmp_path / "calib.yaml"
    base = ["--checkpoint", student_checkpoint, "--out", tmp_path / "out", "--images", images]
    base += ["--radar", radar, "--calibration", calibration]

    def error_line(code):
        assert predict(*base) == code
        lines = capsys.readouterr().err.strip().splitlines()
        return lines[0]

    assert "calibration file" in error_line(2) and "does not exist" in error_line(2)
    calibration.write_text(yaml.safe_dump({"camera_info": {"width": 10}}))
    assert "has no camera matrix (camera_info.k" in error_line(2)
    calibration.write_text(yaml.safe_dump({**good, "extrinsic": {}}))
    assert "has no extrinsic" in error_line(2)
    wrong_size = {**good, "camera_info": {**good["camera_info"], "width": 1600}}
    calibration.write_text(yaml.safe_dump(wrong_size))
    np.save(radar / "frame0.npy", np.zeros((3, 6)))
    np.save(radar / "frame1.npy", np.zeros((3, 4)))
    line = error_line(2)
    assert (
        f"image {images / 'frame0.jpg'} is 192x108, the calibration {calibration} is for "
        "1600x108 images" in line
    )
    calibration.write_text(yaml.safe_dump(good))
    assert "must hold N x 6 values (x, y, z, rcs, vx, vy), got shape (3, 4)" in error_line(2)
    # --on-error skip: the good frame is predicted, the bad one listed.
    assert predict(*base, "--on-error", "skip") == 0
    summary = summary_of(tmp_path / "out")
    # frame0 was written by the stopped run before frame1 failed: it is not redone.
    assert summary["predicted"] == 0 and summary["already_complete"] == 1
    assert [f["name"] for f in summary["failed"]] == ["frame1"]
    assert "got shape (3, 4)" in summary["failed"][0]["error"]


def test_bag_frames_equal_the_dataroot_frames(full_rig_root, student_checkpoint, tmp_path):
    """A bag recorded from the dataroot gives the same depth for the same keyframes."""
    from lircdepth_ros.bag.convert import convert_scenes

    cameras = ["CAM_FRONT", "CAM_BACK"]
    (bag,) = convert_scenes(
        full_rig_root,
        VERSION,
        tmp_path / "bags",
        scenes=[SCENE],
        cameras=cameras,
        radars=["all"],
        radar_all_points=True,
    )
    from_bag, from_root = tmp_path / "from_bag", tmp_path / "from_root"
    common = ["--checkpoint", student_checkpoint, "--cameras", *cameras, "--radars", "all"]
    assert predict(*common, "--out", from_bag, "--bag", bag, "--keyframes") == 0
    # A bag has no keyframe radar table: each image gets each radar's nearest sweep.
    dataroot = ["--dataroot", full_rig_root, "--scenes", SCENE, "--radar-pairing", "camera"]
    assert predict(*common, "--out", from_root, *dataroot) == 0
    bag_frames, root_frames = (
        summary_of(from_bag)["frame_names"],
        summary_of(from_root)["frame_names"],
    )
    by_time = {(s["camera"], s["timestamp"] * 1000): n for n, s in root_frames.items()}
    assert len(bag_frames) == len(by_time) == 6
    for name, source in bag_frames.items():
        assert name == f"{SCENE}/{source['camera']}/{source['stamp_ns']}"
        twin = by_time[(source["camera"], source["stamp_ns"])]
        np.testing.assert_allclose(
            np.load(from_bag / f"{name}.npy"), np.load(from_root / f"{twin}.npy"), atol=1e-4
        )


def test_teacher_uncertainty_and_colour(full_rig_root, tmp_path):
    """A teacher checkpoint also gives the uncertainty (1 - confidence) asked for."""
    import torch

    from lircdepth.models import build_model
    from lircdepth.models.checkpoint import save_checkpoint

    torch.manual_seed(1)
    checkpoint = tmp_path / "teacher.pt"
    save_checkpoint(
        checkpoint,
        {"arch": "cafnet", "model_config": {}, "model": build_model("cafnet").state_dict()},
    )
    out = tmp_path / "out"
    args = ["--checkpoint", checkpoint, "--out", out, "--dataroot", full_rig_root]
    args += ["--scenes", SCENE, "--uncertainty", "--color", "--png-units", "kitti256"]
    assert predict(*args) == 0
    teacher = DepthEstimator.from_checkpoint(checkpoint, device="cpu", backend="torch")
    frames = NuScenesFrames(full_rig_root, VERSION, ["CAM_FRONT"], RadarOptions())
    job = frames.jobs([SCENE])[0]
    loaded = job.load()
    expected = teacher.estimate(loaded.image, loaded.radar_points)
    np.testing.assert_allclose(np.load(out / f"{job.name}.npy"), expected.depth, atol=1e-4)
    uncertainty = np.load(out / f"{job.name}_uncertainty.npy")
    np.testing.assert_allclose(uncertainty, expected.uncertainty, atol=1e-5)
    png = cv2.imread(str(out / f"{job.name}.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(png, depth_png(np.load(out / f"{job.name}.npy"), "kitti256"))
    record = json.loads((out / f"{job.name}.json").read_text())
    assert set(record["files"]) == {"png", "npy", "color", "uncertainty"}
    assert record["png_units"] == "kitti256"


def test_community_layout_bag(full_rig_root, student_checkpoint, tmp_path):
    """The nuscenes2bag layout (JPEG CompressedImage, packed 43-byte radar, /tf only at the
    keyframes): one depth per camera image, the same images as the dataroot and radar points
    within the 2 Hz pose interpolation of the dataroot's."""
    from lircdepth.predict.bag_source import bag_jobs
    from lircdepth_ros.bag.convert import convert_scenes

    (bag,) = convert_scenes(
        full_rig_root,
        VERSION,
        tmp_path / "bags",
        scenes=[SCENE],
        cameras=["all"],
        radars=["all"],
        layout="nuscenes2bag",
    )
    out = tmp_path / "out"
    argv = ["--checkpoint", student_checkpoint, "--out", out, "--bag", bag, "--radars", "all"]
    assert predict(*argv) == 0
    summary = summary_of(out)
    assert summary["predicted"] == summary["frames"] == 3 and not summary["failed"]
    assert all(
        s["topic"] == "/CAM_FRONT/image_rect_compressed" for s in summary["frame_names"].values()
    )
    frames = NuScenesFrames(
        full_rig_root, VERSION, ["CAM_FRONT"], RadarOptions(channels=("all",), pairing="camera")
    )
    root = {j.source["timestamp"] * 1000: j for j in frames.jobs([SCENE])}
    jobs = bag_jobs([bag], ["CAM_FRONT"], ["all"], False, "map")
    jobs.plan(list(jobs))
    for job in jobs:
        ours, theirs = job.load(), root[job.source["stamp_ns"]].load()
        np.testing.assert_array_equal(ours.image, theirs.image)
        assert len(ours.radar_points) == len(theirs.radar_points) > 0
        close = np.isclose(ours.radar_points, theirs.radar_points, atol=0.25).all(axis=1)
        assert close.mean() > 0.9
