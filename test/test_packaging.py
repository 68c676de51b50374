"""The distribution as pip builds and installs it: what the wheel carries, and the entry points
the installed package registers (the `lircdepth` subcommands and benchmarks other packages add)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import distribution
from importlib.util import find_spec
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
SHARE = "lircdepth-0.1.0.data/data/share"


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def shipped_file_literals() -> set[str]:
    """The constant paths the code asks `shipped_file` for."""
    found = set()
    for path in [*ROOT.glob("lircdepth/**/*.py"), *ROOT.glob("lircdepth_ros/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "shipped_file"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def tracked_files(*folders: str) -> list[str]:
    """The checkout's files under `folders` that git tracks (what a fresh clone holds)."""
    result = subprocess.run(
        ["git", "ls-files", *folders], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def copy_tracked(destination: Path) -> Path:
    """A copy of the tracked files, so that a build leaves nothing in the checkout."""
    for name in tracked_files():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)
    return destination


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    """Names in the wheel `pip wheel` builds from the tracked files (no network: the venv's
    setuptools, --no-build-isolation)."""
    source = copy_tracked(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    command += ["-q", "-w", str(out), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("lircdepth-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_ships_the_ament_prefix_files_and_every_shipped_file(wheel_names):
    """An install without the checkout (pip or colcon) finds what the node and the core read."""
    tracked = tracked_files("launch", "config", "training/args")
    assert tracked, "no shipped files found in the checkout"
    expected = {
        f"{SHARE}/ament_index/resource_index/packages/lircdepth",
        f"{SHARE}/lircdepth/package.xml",
        *(f"{SHARE}/lircdepth/{name}" for name in tracked),
    }
    assert expected <= wheel_names, sorted(expected - wheel_names)
    literals = shipped_file_literals()
    assert "config/fastdds_shm.xml" in literals
    for relative in literals:
        assert f"{SHARE}/lircdepth/{relative}" in wheel_names, relative


def test_wheel_carries_the_benchmarks_and_the_entry_point_targets(wheel_names):
    """`lircdepth bench ...` works from an install: the benchmarks are package modules."""
    benchmarks = tracked_files("lircdepth/bench")
    assert "lircdepth/bench/inference.py" in benchmarks
    for name in benchmarks:
        assert name in wheel_names, name
    project = pyproject()["project"]
    targets = [*project["scripts"].values()]
    for group in project["entry-points"].values():
        targets += group.values()
    for target in targets:
        module = target.split(":")[0]
        as_file = module.replace(".", "/")
        assert {f"{as_file}.py", f"{as_file}/__init__.py"} & wheel_names, target


def test_installed_entry_points_are_the_ones_pyproject_declares():
    """The venv's install is current (scripts/setup.sh re-run after an entry point changed),
    and every target imports as a module."""
    project = pyproject()["project"]
    declared = {"console_scripts": project["scripts"], **project["entry-points"]}
    installed: dict[str, dict[str, str]] = {}
    for entry in distribution("lircdepth").entry_points:
        installed.setdefault(entry.group, {})[entry.name] = entry.value
    assert installed == declared
    assert {"lircdepth.commands", "lircdepth.benchmarks"} <= declared.keys()
    for group in declared.values():
        for target in group.values():
            assert find_spec(target.split(":")[0]) is not None, target


@pytest.mark.parametrize("mode", [[], ["--symlink-install"]], ids=["copy", "symlink"])
def test_colcon_builds_the_ament_python_package(tmp_path, mode):
    """What a ROS user runs (`colcon build`, with and without --symlink-install) gives the
    prefix `ros2 run/launch` read: the scripts in lib/lircdepth, the shared files, the
    index entry. (colcon reads setup.py back through literal_eval, and --symlink-install
    runs it in a build folder without pyproject.toml unless setup.py links it.)"""
    colcon = Path(sys.prefix) / "bin" / "colcon"
    if not colcon.exists():
        pytest.skip("colcon is not installed in this environment (scripts/setup.sh installs it)")
    copy_tracked(tmp_path / "src" / "lircdepth")
    env = dict(os.environ, AMENT_PREFIX_PATH=sys.prefix)
    env["PATH"] = f"{colcon.parent}{os.pathsep}{env['PATH']}"
    command = [str(colcon), "--log-base", "log", "build", *mode, "--base-paths", "src"]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    prefix = tmp_path / "install" / "lircdepth"
    for script in ("lircdepth", "lircdepth_node"):
        assert os.access(prefix / "lib" / "lircdepth" / script, os.X_OK), script
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "lircdepth").exists()
    for shipped in ("package.xml", "launch/lircdepth.launch.py", "config/lircdepth.yaml"):
        assert (prefix / "share" / "lircdepth" / shipped).is_file(), shipped
    assert not list((tmp_path / "src" / "lircdepth").glob("*.egg-info")), "build wrote into src"
