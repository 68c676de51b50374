"""On-disk formats and determinism: radar .pcd layout, same seed same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nuscenes.utils.data_classes import RadarPointCloud

from lircdepth.synth import SynthConfig, generate

NUSCENES_RADAR_HEADER = [
    "# .PCD v0.7 - Point Cloud Data file format",
    "VERSION 0.7",
    "FIELDS x y z dyn_prop id rcs vx vy vx_comp vy_comp is_quality_valid ambig_state "
    "x_rms y_rms invalid_state pdh0 vx_rms vy_rms",
    "SIZE 4 4 4 1 2 4 4 4 4 4 1 1 1 1 1 1 1 1",
    "TYPE F F F I I F F F F F I I I I I I I I",
    "COUNT 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
]
RECORD_BYTES = 43  # sum of the field sizes above
TINY = {"keyframes": 2, "width": 64, "height": 48, "camera_sweeps": False}


def _all_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_radar_pcd_has_the_18_nuscenes_fields_in_binary_layout(synth_root):
    files = sorted((synth_root / "samples" / "RADAR_FRONT").glob("*.pcd"))
    assert files
    for path in files:
        raw = path.read_bytes()
        header, _, body = raw.partition(b"DATA binary\n")
        lines = header.decode().splitlines()
        assert lines[:6] == NUSCENES_RADAR_HEADER, path.name
        points = int(next(line for line in lines if line.startswith("POINTS")).split()[1])
        assert f"WIDTH {points}" in lines and "HEIGHT 1" in lines
        assert len(body) == points * RECORD_BYTES + 1, "binary block + one trailing newline"
        cloud = RadarPointCloud.from_file(
            str(path),
            invalid_states=list(range(18)),
            dynprop_states=list(range(8)),
            ambig_states=list(range(5)),
        )
        assert cloud.points.shape == (18, points)


def test_radar_points_lie_in_the_sensor_plane_with_plausible_states(synth_root):
    for path in sorted((synth_root / "samples" / "RADAR_FRONT").glob("*.pcd")):
        fields = RadarPointCloud.from_file(str(path)).points
        x, y, z = fields[:3]
        assert np.all(z == 0.0), "ARS 408 reports no elevation"
        assert np.all(x > 0) and np.all(np.abs(np.arctan2(y, x)) < np.deg2rad(61))
        assert np.all(np.hypot(x, y) < 250)
        assert set(np.unique(fields[3])) <= set(range(8))  # dyn_prop
        assert np.all(fields[11] == 3)  # ambig_state: unambiguous
        assert np.all(np.abs(fields[8:10]) < 30), "ego-compensated velocities of road users"


def test_same_seed_gives_identical_bytes_also_in_parallel(tmp_path):
    config = SynthConfig(scenes=2, seed=3, **TINY)
    first = _all_bytes(generate(tmp_path / "a", config, workers=1))
    second = _all_bytes(generate(tmp_path / "b", config, workers=2))
    assert len(first) > 30
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_different_seeds_give_different_worlds(tmp_path):
    one = _all_bytes(generate(tmp_path / "a", SynthConfig(scenes=1, seed=1, **TINY)))
    two = _all_bytes(generate(tmp_path / "b", SynthConfig(scenes=1, seed=2, **TINY)))
    depth_one = [v for k, v in one.items() if k.startswith("depth_gt")]
    depth_two = [v for k, v in two.items() if k.startswith("depth_gt")]
    assert depth_one != depth_two
    assert one["v1.0-mini/ego_pose.json"] != two["v1.0-mini/ego_pose.json"]


@pytest.mark.parametrize(
    ("field", "value"), [("scenes", 0), ("keyframes", 0), ("width", 8), ("height", 8)]
)
def test_config_rejects_unusable_sizes(field, value):
    with pytest.raises(ValueError, match=field):
        SynthConfig(**{field: value})


def test_lidar_bin_holds_x_y_z_intensity_ring_of_32_beams(synth_root):
    for path in sorted((synth_root / "samples" / "LIDAR_TOP").glob("*.pcd.bin")):
        cloud = np.fromfile(path, dtype="<f4").reshape(-1, 5)
        assert len(cloud) > 10_000
        assert set(np.unique(cloud[:, 4]).astype(int)) <= set(range(32))
        intensity = cloud[:, 3]
        assert intensity.min() >= 0 and intensity.max() <= 255
        assert np.percentile(intensity, 99.5) > 3 * np.median(intensity), "bright lane markings"
        assert np.hypot(cloud[:, 0], cloud[:, 1]).max() < 70.0
