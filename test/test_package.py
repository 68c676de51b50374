"""Package-level contracts: the core never imports ROS; the CLI and ROS manifest are sound."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import lircdepth
from lircdepth.cli import subcommands

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
    found = subcommands()
    assert {"bag", "demo"} <= set(found), "lircdepth_ros's entry points are not registered"
    for name, (module, _) in found.items():
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


# ROS packages whose rosdep key is their import name.
ROS_PACKAGES = (
    "rclpy",
    "rcl_interfaces",
    "std_msgs",
    "sensor_msgs",
    "geometry_msgs",
    "diagnostic_msgs",
    "rosgraph_msgs",
    "tf2_msgs",
    "message_filters",
    "cv_bridge",
    "launch",
    "launch_ros",
    "ament_index_python",
    "ros2cli",
    "sensor_msgs_py",
)
# Import name -> rosdep key, for what the code imports and a ROS user resolves with rosdep.
ROSDEP_KEYS = {
    **{name: name for name in ROS_PACKAGES},
    "tf2_ros": "tf2_ros_py",  # the Python module of tf2_ros ships in the tf2_ros_py package
    "numpy": "python3-numpy",
    "scipy": "python3-scipy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "tqdm": "python3-tqdm",
    "matplotlib": "python3-matplotlib",
    "torch": "python3-torch",
    "torchvision": "python3-torchvision",
    "pytest": "python3-pytest",
    "hypothesis": "python3-hypothesis",
    "psutil": "python3-psutil",
}
# Imported, but without a rosdep key: pyproject.toml / requirements.txt install them.
PIP_ONLY = {
    "nuscenes",
    "pyquaternion",
    "rosbags",
    "threadpoolctl",
    "tensorboard",
    "onnx",
    "onnxruntime",
    "openvino",
    "nncf",
}


def imported_packages(files: list[Path]) -> set[str]:
    """Top-level names of every absolute import (inside functions and try blocks too), and the
    message packages named by a module constant passed to `message_class("pkg/msg/Name")`."""
    found: set[str] = set()
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "message_class"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in constants
            ):
                found.add(constants[node.args[0].id].split("/")[0])
    local = {path.stem for path in files} | {"lircdepth", "lircdepth_ros", "test"}  # test.helpers
    return found - set(sys.stdlib_module_names) - local


def rosdep_keys(packages: set[str]) -> set[str]:
    unknown = packages - ROSDEP_KEYS.keys() - PIP_ONLY
    assert not unknown, (
        f"new imports: add them to package.xml and ROSDEP_KEYS, or to PIP_ONLY: {unknown}"
    )
    return {ROSDEP_KEYS[name] for name in packages if name in ROSDEP_KEYS}


def test_package_xml_is_a_format3_ament_python_manifest():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == "lircdepth"
    assert root.find("export/build_type").text == "ament_python"
    assert (ROOT / "resource" / "lircdepth").exists()
    # colcon passes setup.cfg's install_scripts on, so `ros2 run` finds lib/lircdepth/*.
    assert "install_scripts=$base/lib/lircdepth" in (ROOT / "setup.cfg").read_text()


def test_package_xml_lists_exactly_what_the_code_imports():
    root = ET.parse(ROOT / "package.xml").getroot()
    code = [
        *ROOT.glob("lircdepth/**/*.py"),
        *ROOT.glob("lircdepth_ros/**/*.py"),
        *ROOT.glob("launch/*.py"),
        *ROOT.glob("training/*.py"),
    ]
    run_time = rosdep_keys(imported_packages(code))
    assert {"rclpy", "tf2_ros_py", "python3-torch", "python3-scipy", "rosgraph_msgs"} <= run_time
    assert {e.text for e in root.findall("exec_depend")} == run_time
    tests = rosdep_keys(imported_packages(list(ROOT.glob("test/**/*.py")))) - run_time
    assert {e.text for e in root.findall("test_depend")} == tests
