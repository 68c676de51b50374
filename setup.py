"""The ament_python side of the `lircdepth` distribution (everything else: pyproject.toml).

colcon builds an ament_python package by running setup.py, and `ros2 run/launch/pkg` find
a package by what its ament prefix holds: the index entry, share/lircdepth/package.xml,
the launch and config files (and the training argument files the core reads from there).
setuptools discourages `data-files` in pyproject.toml, so they are listed here.
"""

from glob import glob
from pathlib import Path

from setuptools import setup

ROS_PACKAGE = "lircdepth"
SHARE = f"share/{ROS_PACKAGE}"
SOURCE = Path(__file__).resolve().parent


def link_project_files() -> None:
    """`colcon build --symlink-install` runs setup.py in its build folder, beside links to
    setup.py, setup.cfg, package.xml, the packages and the data files but not to pyproject.toml
    (measured, colcon-core 0.21.3: there setuptools then found no metadata and refused the
    "multiple top-level packages"). Link it, and the README it names, there too."""
    if not Path("setup.py").is_symlink():  # run in the source tree, not in colcon's build folder
        return
    for name in ("pyproject.toml", "README.md"):
        here = Path(name)
        if not here.exists() and (SOURCE / name).exists():
            here.symlink_to(SOURCE / name)


link_project_files()

setup(
    # Here, not as pyproject's requires-python (declared dynamic there): colcon reads setup()'s
    # values back through repr() and ast.literal_eval (colcon-python-setup-py 0.2.9), and
    # requires-python arrives as a SpecifierSet object; measured: `colcon build` failed with
    # "SyntaxError: invalid syntax" on `<SpecifierSet('>=3.10')>`.
    python_requires=">=3.10",
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{ROS_PACKAGE}"]),
        (SHARE, ["package.xml"]),
        (f"{SHARE}/launch", glob("launch/*.py")),
        (f"{SHARE}/config", glob("config/*")),
        (f"{SHARE}/training/args", glob("training/args/*.txt")),
    ],
)
