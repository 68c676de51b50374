"""Shared fixtures: one small synthetic nuScenes world per test session, built once.

Fixtures import their modules lazily so a broken area fails only the tests that use it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Small but model-compatible: 704 x 388 drops 4 top rows to 704 x 384 (both / 32).
TEST_WIDTH, TEST_HEIGHT = 704, 388


def pytest_configure(config) -> None:
    """Give this process the Fast DDS profile the project's tools and node use.

    Fast DDS reads its XML profile once per process, when the first DDS participant is
    made. The bag player and evaluator run inside this process in several tests and apply
    the shipped shared-memory profile first, but a test that made an rclpy context before
    them (test/ros runs first under scripts/test_ros_distro.sh) had fixed Fast DDS's
    defaults for the whole process: the player then sent 704 x 388 images through the
    default 512 KiB shared-memory segment to a node with the profile, and under load the
    first image did not arrive within 20 s (test_node_replay_end_to_end under Jazzy).
    Child processes still choose their own (test/helpers/ros_env.py).
    """
    from lircdepth.resources import shipped_file
    from lircdepth_ros.compat import apply_profile

    apply_profile(shipped_file("config/fastdds_shm.xml"))


@pytest.fixture(scope="module")
def module_tmp_path(request, tmp_path_factory) -> Iterator[Path]:
    """A folder for one test module's large files, removed when the module is done with it
    (pytest keeps `tmp_path_factory` folders to the end of the session)."""
    folder = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _shared_memory_segments(pid: int) -> set[Path]:
    from lircdepth_ros.compat import is_shared_memory_segment

    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    paths = {Path(line.split()[-1]) for line in maps}
    # The small `*_port<N>` files are shared by every participant that listens on that port
    # (another test's or a ros2 daemon's) and outlive this process by design.
    return {p for p in paths if is_shared_memory_segment(p) and "_port" not in p.name}


@pytest.fixture(scope="session")
def shared_memory_segments():
    """shared_memory_segments(pid) -> the Fast DDS shared-memory segments a process owns
    (64 MiB each with the project's profile; a clean shutdown removes them): `fastdds_*`
    with Fast DDS 3.x (Kilted), `fastrtps_*` with 2.x (Jazzy)."""
    return _shared_memory_segments


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A 3-scene x 4-keyframe synthetic dataroot (v1.0-mini) at test image size."""
    from lircdepth.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, SynthConfig(scenes=3, keyframes=4, seed=7, width=TEST_WIDTH, height=TEST_HEIGHT))
    return root


# The full nuScenes rig (six cameras, five radars, lidar), tiny so it costs seconds.
FULL_RIG_CONFIG = {
    "scenes": 2,
    "keyframes": 3,
    "seed": 11,
    "width": 192,
    "height": 108,
    "camera_sweeps": False,
    "rig": "full",
}


@pytest.fixture(scope="session")
def full_rig_root(tmp_path_factory) -> Path:
    """A 2-scene x 3-keyframe full-rig synthetic dataroot (v1.0-mini), 192 x 108 images."""
    from lircdepth.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("synth_full")
    generate(root, SynthConfig(**FULL_RIG_CONFIG))
    return root


@pytest.fixture(scope="session")
def prepared_root(synth_root, tmp_path_factory) -> Path:
    """The synthetic world prepared into a derived dataset (+/- 10 lidar sweeps, all splits)."""
    from lircdepth.data.prepare import PrepareConfig, prepare

    out = tmp_path_factory.mktemp("prepared")
    prepare(
        PrepareConfig(
            dataroot=synth_root,
            version="v1.0-mini",
            out=out,
            workers=1,
            accumulate_sweeps=10,
            accumulate_sweeps_test=10,
        )
    )
    return out


@pytest.fixture(scope="session")
def student_checkpoint(tmp_path_factory) -> Path:
    """A randomly initialised LiRCDepth checkpoint in the project's checkpoint format."""
    import torch

    from lircdepth.models import build_model
    from lircdepth.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model("lircdepth")
    path = tmp_path_factory.mktemp("ckpt") / "student.pt"
    save_checkpoint(
        path,
        {"arch": "lircdepth", "model_config": {}, "model": model.state_dict(), "global_step": 0},
    )
    return path
