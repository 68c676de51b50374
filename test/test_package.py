"""Package-level contracts: the core never imports ROS; the CLI and ROS manifest are sound."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import lircdepth
from lircdepth.cli import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[1]
ROS_MODULES = ("rclpy", "sensor_msgs", "std_msgs", "geometry_msgs", "tf2_msgs", "diagnostic_msgs")


def test_core_library_never_imports_ros():
    modules = [m.name for m in pkgutil.walk_packages(lircdepth.__path__, "lircdepth.")]
    assert "lircdepth.geometry" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {ROS_MODULES!r})\n"
        "print(bad)\n"
        "raise SystemExit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_subcommand_explains_itself():
    for name, (module, _) in SUBCOMMANDS.items():
        result = subprocess.run(
            [sys.executable, "-m", "lircdepth", name, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (
            f"`lircdepth {name} --help` failed ({module}):\n{result.stderr}"
        )
        assert "usage: lircdepth " + name in result.stdout


def test_package_xml_is_a_format3_ament_python_manifest():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == "lircdepth_ros"
    assert root.find("export/build_type").text == "ament_python"
    depends = {e.text for e in root.findall("exec_depend")}
    for needed in (
        "rclpy",
        "sensor_msgs",
        "std_msgs",
        "geometry_msgs",
        "tf2_ros",
        "cv_bridge",
        "message_filters",
        "launch_ros",
        "python3-torch",
    ):
        assert needed in depends, needed
    assert (ROOT / "resource" / "lircdepth_ros").exists()
    assert "install_scripts=$base/lib/lircdepth_ros" in (ROOT / "setup.cfg").read_text()
