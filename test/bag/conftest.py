"""Fixtures of the bag tests: one converted synthetic scene, isolated ROS domains, and
helper processes that are always stopped."""

from __future__ import annotations

import importlib.util
import subprocess
import time
from pathlib import Path

import pytest

from test.helpers.ros_env import isolated_env, start, stop

VERSION = "v1.0-mini"
HELPERS = Path(__file__).parent


@pytest.fixture(scope="session")
def scene_bag(synth_root, tmp_path_factory) -> Path:
    """The first synthetic scene as an MCAP bag (CAM_FRONT, RADAR_FRONT, LIDAR_TOP, TF)."""
    from lircdepth_ros.bag.convert import convert_scenes

    (bag,) = convert_scenes(
        synth_root, VERSION, tmp_path_factory.mktemp("bags"), scenes=["synth-0000"]
    )
    return bag


def load_helper(name: str):
    """A helper module of this folder (pytest's importlib mode puts no test folder on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, HELPERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def rig_world():
    """The hand-made surround-view rig of `rig_world.py` (cameras, radars, sizes)."""
    return load_helper("rig_world")


@pytest.fixture(scope="session")
def rig_bag(rig_world, tmp_path_factory) -> Path:
    """Three keyframes of the six-camera, two-radar hand-made rig as a bag."""
    return rig_world.write_rig_bag(tmp_path_factory.mktemp("rig") / "rig_bag")


@pytest.fixture
def ros_env() -> dict[str, str]:
    """A child's environment in a domain of its own (never 0: test/helpers/ros_env.py), with
    Fast DDS's defaults (not the project's shared-memory profile)."""
    return isolated_env(shm_profile=False)


@pytest.fixture
def domain_id(ros_env) -> int:
    """The domain of `ros_env`, for what this process itself does in it (play, evaluate)."""
    return int(ros_env["ROS_DOMAIN_ID"])


@pytest.fixture
def start_process(tmp_path):
    """start_process(args, env) -> Popen, stopped (then killed) when the test ends."""
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start_logged(args: list[str], env: dict[str, str]) -> subprocess.Popen:
        logs.append(tmp_path / f"process{len(logs)}.log")
        processes.append(start(args, env, logs[-1]))
        return processes[-1]

    yield start_logged
    stop(*processes, timeout=10)
    for log in logs:  # shown by pytest when the test failed
        lines = log.read_text(errors="replace").splitlines()
        print(f"--- {log.name} (last 80 of {len(lines)} lines) ---", *lines[-80:], sep="\n")


@pytest.fixture
def wait_for_file():
    """wait_for_file(path, timeout=60): block until a helper process touched `path`."""
    return _wait_for_file


def _wait_for_file(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.1)
