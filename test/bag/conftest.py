"""Fixtures of the bag tests: one converted synthetic scene, isolated ROS domains, and
helper processes that are always stopped."""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

VERSION = "v1.0-mini"
HELPERS = Path(__file__).parent
# Other suites on this machine use low domain ids; each bag test takes its own from here.
_DOMAIN_IDS = itertools.count(60 + os.getpid() % 20)


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
def domain_id() -> int:
    return next(_DOMAIN_IDS) % 102


@pytest.fixture
def ros_env(domain_id) -> dict[str, str]:
    return {**os.environ, "ROS_DOMAIN_ID": str(domain_id)}


@pytest.fixture
def start_process(tmp_path):
    """start_process(args, env) -> Popen, stopped (then killed) when the test ends."""
    processes: list[subprocess.Popen] = []

    def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(tmp_path / f"process{len(processes)}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
