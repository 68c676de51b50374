"""Missing and corrupt inputs give errors that name the offending path."""

from __future__ import annotations

import os

import pytest

from lircdepth.data.nusc_sources import PrepareInputError, load_lidar, load_radar
from lircdepth.data.prepare import PrepareConfig, prepare


def _linked_copy(source, target):
    """A dataroot of symlinks (cheap), so single files can be replaced by corrupt ones."""
    for directory, _, names in os.walk(source):
        relative = os.path.relpath(directory, source)
        os.makedirs(target / relative, exist_ok=True)
        for name in names:
            os.symlink(os.path.join(directory, name), target / relative / name)
    return target


def _truncate_copy(path, keep_bytes):
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data[:keep_bytes])


def test_missing_dataroot_and_version_are_named(tmp_path, synth_root):
    with pytest.raises(PrepareInputError, match="dataroot not found.*nowhere"):
        prepare(PrepareConfig(dataroot=tmp_path / "nowhere", out=tmp_path / "o"))
    with pytest.raises(PrepareInputError, match="v1.0-trainval"):
        prepare(PrepareConfig(dataroot=synth_root, version="v1.0-trainval", out=tmp_path / "o"))
    with pytest.raises(PrepareInputError, match="no-such-scene"):
        prepare(PrepareConfig(dataroot=synth_root, out=tmp_path / "o", scenes=["no-such-scene"]))


@pytest.mark.parametrize("modality", ["RADAR_FRONT", "LIDAR_TOP"])
def test_truncated_sensor_file_is_named(tmp_path, synth_root, modality):
    root = _linked_copy(synth_root, tmp_path / "root")
    victim = sorted((root / "samples" / modality).iterdir())[0]
    _truncate_copy(victim, 150 if modality == "RADAR_FRONT" else 1001)
    scene = "synth-" + victim.name.split("__")[0].split("-")[-1]
    with pytest.raises(PrepareInputError, match=f"corrupt .*{victim.name}"):
        prepare(
            PrepareConfig(
                dataroot=root,
                out=tmp_path / "out",
                scenes=[scene],
                accumulate_sweeps=5,
                progress=False,
            )
        )


def test_missing_sensor_file_is_named(tmp_path, synth_root):
    root = _linked_copy(synth_root, tmp_path / "root")
    victim = sorted((root / "samples" / "LIDAR_TOP").iterdir())[0]
    victim.unlink()
    with pytest.raises(PrepareInputError, match=f"not found.*{victim.name}"):
        load_lidar(victim)
    with pytest.raises(PrepareInputError, match="not found"):
        load_radar(tmp_path / "missing.pcd")
