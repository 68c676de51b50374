"""One distribution: the `lircdepth` core library and the `lircdepth_ros` ROS 2 glue.

It is also an ament_python package (package.xml, resource/ marker, data_files), so
`colcon build` on a ROS 2 install builds the same tree.
"""

from glob import glob

from setuptools import find_packages, setup

ROS_PACKAGE = "lircdepth_ros"

setup(
    name="lircdepth",
    version="0.1.0",
    description="Lightweight radar-camera depth estimation (LiRCDepth) with a ROS 2 node",
    packages=find_packages(
        include=["lircdepth", "lircdepth.*", "lircdepth_ros", "lircdepth_ros.*"]
    ),
    package_data={"lircdepth": ["configs/*.txt"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{ROS_PACKAGE}"]),
        (f"share/{ROS_PACKAGE}", ["package.xml"]),
        (f"share/{ROS_PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{ROS_PACKAGE}/config", glob("config/*")),
        (f"share/{ROS_PACKAGE}/training/args", glob("training/args/*.txt")),
    ],
    python_requires=">=3.10",
    install_requires=[
        "numpy",
        "torch",
        "torchvision",
        "opencv-python-headless",
        "nuscenes-devkit",
        "scipy",
        "threadpoolctl",
        "pyyaml",
        "tqdm",
    ],
    extras_require={
        "export": ["onnx", "onnxruntime"],
        "bags": ["rosbags"],
        "logging": ["tensorboard"],
        "test": ["pytest"],
    },
    zip_safe=True,
    maintainer="LiRCDepth maintainers",
    maintainer_email="lircdepth-maintainers@example.com",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "lircdepth = lircdepth.cli:main",
            "lircdepth_node = lircdepth_ros.launcher:main",
        ],
    },
)
