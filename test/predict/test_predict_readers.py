"""The file readers of `lircdepth predict`: calibration YAML, radar files, nuScenes sweeps."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from lircdepth.errors import MissingPathError
from lircdepth.predict.calibration import CalibrationError, read_calibration
from lircdepth.predict.radar_files import RadarFileError, read_radar_file

K9 = [500.0, 0.0, 320.0, 0.0, 510.0, 240.0, 0.0, 0.0, 1.0]


def write_yaml(path, tree):
    path.write_text(yaml.safe_dump(tree))
    return path


def test_calibration_forms_give_the_same_transform(tmp_path):
    # Radar x forward, y left, z up -> camera z forward, x right, y down (xyzw order).
    xyzw = [0.5, -0.5, 0.5, 0.5]
    nested = write_yaml(
        tmp_path / "a.yaml",
        {
            "camera_info": {"width": 640, "height": 480, "k": K9},
            "extrinsic": {"translation": [0.1, 0.2, 0.3], "rotation_xyzw": xyzw},
        },
    )
    node_file = write_yaml(
        tmp_path / "b.yaml",
        {
            "/**": {
                "ros__parameters": {
                    "K": [K9[0:3], K9[3:6], K9[6:9]],
                    "width": 640,
                    "height": 480,
                    "extrinsic.translation": [0.1, 0.2, 0.3],
                    "extrinsic.rotation_xyzw": xyzw,
                }
            }
        },
    )
    a, b = read_calibration(nested), read_calibration(node_file)
    np.testing.assert_array_equal(a.camera_matrix, b.camera_matrix)
    np.testing.assert_allclose(a.camera_from_radar, b.camera_from_radar)
    # Radar forward / left / up are the camera's +z / -x / -y.
    expected = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]).T
    np.testing.assert_allclose(a.camera_from_radar[:3, :3], expected, atol=1e-12)
    np.testing.assert_array_equal(a.camera_from_radar[:3, 3], [0.1, 0.2, 0.3])
    assert (a.width, a.height) == (640, 480)


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"camera_info": {"k": K9, "width": 640}}, "no image height"),
        ({"camera_info": {"k": K9[:8], "width": 640, "height": 480}}, "must be 9 finite numbers"),
        ({"camera_info": {"k": [0.0] * 9, "width": 640, "height": 480}}, "not a pinhole"),
        (
            {
                "camera_info": {"k": K9, "width": 640, "height": 480},
                "extrinsic": {"translation": [0, 0, 0], "rotation_xyzw": [0, 0, 0, 2]},
            },
            "unit quaternion",
        ),
        (
            {
                "camera_info": {"k": K9, "width": 640, "height": 480},
                "extrinsic": {"translation": [0, 0, 0]},
            },
            "extrinsic.rotation_xyzw is missing",
        ),
        (["not", "a", "mapping"], "must be a YAML mapping"),
    ],
)
def test_bad_calibrations_are_one_line(tmp_path, tree, message):
    path = write_yaml(tmp_path / "calib.yaml", tree)
    with pytest.raises(CalibrationError, match=message) as error:
        read_calibration(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_radar_files_by_name_and_by_position(tmp_path):
    table = np.array([[10.0, 1.0, 0.5, 5.0, -1.0, 0.25], [20.0, -2.0, 0.0, 7.5, 0.0, 0.0]])
    np.save(tmp_path / "plain.npy", table)
    structured = np.zeros(2, dtype=[(n, "f4") for n in ("vy", "x", "y", "z", "rcs", "vx", "id")])
    for i, name in enumerate(("x", "y", "z", "rcs", "vx", "vy")):
        structured[name] = table[:, i]
    np.save(tmp_path / "structured.npy", structured)
    (tmp_path / "plain.csv").write_text("\n".join(",".join(map(str, row)) for row in table))
    (tmp_path / "ascii.pcd").write_text(
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z rcs vx vy\nSIZE 4 4 4 4 4 4\nTYPE F F F F F F\n"
        "COUNT 1 1 1 1 1 1\nWIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA ascii\n"
        + "\n".join(" ".join(map(str, row)) for row in table)
    )
    header = (
        b"VERSION 0.7\nFIELDS x y z rcs vx vy\nSIZE 4 4 4 4 4 4\nTYPE F F F F F F\n"
        b"COUNT 1 1 1 1 1 1\nWIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA binary\n"
    )
    (tmp_path / "binary.pcd").write_bytes(header + table.astype("<f4").tobytes())
    for name in ("plain.npy", "structured.npy", "plain.csv", "ascii.pcd", "binary.pcd"):
        sweep = read_radar_file(tmp_path / name)
        np.testing.assert_allclose(sweep.xyz, table[:, :3], err_msg=name)
        np.testing.assert_allclose(sweep.features, table[:, 3:], err_msg=name)


def test_bad_radar_files_are_one_line(tmp_path):
    (tmp_path / "named.csv").write_text("x,y,z,intensity\n1,2,3,4\n")
    with pytest.raises(RadarFileError, match=r"has no column\(s\) rcs, vx, vy \(it has: x, y, z"):
        read_radar_file(tmp_path / "named.csv")
    (tmp_path / "short.csv").write_text("1,2,3\n")
    with pytest.raises(RadarFileError, match="rows must have 6 values"):
        read_radar_file(tmp_path / "short.csv")
    (tmp_path / "r.txt").write_text("")
    with pytest.raises(RadarFileError, match="unknown type '.txt'"):
        read_radar_file(tmp_path / "r.txt")
    with pytest.raises(MissingPathError, match="does not exist"):
        read_radar_file(tmp_path / "none.npy")


def test_sweeps_list_every_camera_image_of_the_scene(synth_root):
    from nuscenes.nuscenes import NuScenes

    from lircdepth.data.radar import RadarOptions
    from lircdepth.predict.nuscenes_source import NuScenesFrames

    frames = NuScenesFrames(synth_root, "v1.0-mini", ["CAM_FRONT"], RadarOptions())
    nusc = NuScenes("v1.0-mini", str(synth_root), verbose=False)
    scene = nusc.scene[0]
    in_scene = [
        sd["token"]
        for sd in nusc.sample_data
        if sd["channel"] == "CAM_FRONT"
        and nusc.get("sample", sd["sample_token"])["scene_token"] == scene["token"]
    ]
    jobs = frames.jobs([scene["name"]], sweeps=True)
    assert sorted(j.source["sample_data_token"] for j in jobs) == sorted(in_scene)
    assert len(jobs) > scene["nbr_samples"]
    sweep = next(j for j in jobs if not j.source["keyframe"])
    loaded = sweep.load()
    assert loaded.image.shape[2] == 3 and loaded.radar_points.shape[1] == 6


def test_split_names_select_the_prepare_splits(synth_root):
    from lircdepth.data.radar import RadarOptions
    from lircdepth.data.splits import assign_splits
    from lircdepth.errors import UnknownNameError
    from lircdepth.predict.nuscenes_source import NuScenesFrames

    frames = NuScenesFrames(synth_root, "v1.0-mini", ["CAM_FRONT"], RadarOptions())
    names = [scene["name"] for scene in frames.nusc.scene]
    expected = set(assign_splits("v1.0-mini", names, 0)["val"])
    jobs = frames.jobs(split="val")
    assert jobs and {job.source["scene"] for job in jobs} == expected
    with pytest.raises(UnknownNameError, match="--split mini_val: no scene of"):
        frames.jobs(split="mini_val")  # synthetic scenes are in no devkit split
    with pytest.raises(UnknownNameError, match="--split nope"):
        frames.jobs(split="nope")
