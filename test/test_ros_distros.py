"""One pinned list per ROS 2 distribution, and scripts/setup.sh choosing among them.

(The distributions themselves are tested by running test/ros and test/bag under each:
.ci/run, scripts/test_ros_distro.sh.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTROS = ("kilted", "jazzy")
RUNTIME = {
    "rclpy",
    "rmw-fastrtps-cpp",
    "sensor-msgs",
    "std-msgs",
    "geometry-msgs",
    "diagnostic-msgs",
}


def pins(path: Path) -> dict[str, str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    pinned = dict(re.fullmatch(r"([A-Za-z0-9._-]+)==([0-9][0-9.]*)", e).groups() for e in entries)
    assert len(pinned) == len(entries)
    return pinned


def test_each_distribution_pins_the_same_runtime_and_only_its_own_wheels():
    for distro in DISTROS:
        names = pins(ROOT / "requirements" / f"ros-{distro}.txt")
        ros = {n for n in names if n.startswith("ros-")}
        assert all(n.startswith(f"ros-{distro}-") for n in ros), ros
        assert {f"ros-{distro}-{n}" for n in RUNTIME} <= ros


def test_requirements_txt_names_no_ros_wheel():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    assert not [line for line in lines if line.startswith("ros-")]


def run_setup(tmp_path: Path, distro: str, venv: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ROS_DISTRO=distro, VENV=str(venv))
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_setup_refuses_an_unknown_distribution(tmp_path):
    result = run_setup(tmp_path, "humble", tmp_path / "venv")
    assert result.returncode == 2
    assert "ROS_DISTRO=humble" in result.stderr and "jazzy kilted" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_setup_refuses_a_venv_of_another_distribution(tmp_path):
    """Jazzy's wheels over Kilted's (or back) would mix two sets of ROS C libraries."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    info = Path(site) / "ros_jazzy_rclpy-7.1.6.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ros-jazzy-rclpy\nVersion: 7.1.6\n")
    result = run_setup(tmp_path, "kilted", venv)
    assert result.returncode == 2, result.stderr
    assert f"{venv} holds ROS 2 jazzy, not kilted" in result.stderr
