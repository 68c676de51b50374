"""Launch lircdepth_node with the shipped parameters and the Fast DDS shared-memory profile.

    ros2 launch lircdepth_ros lircdepth.launch.py checkpoint:=/path/student.pt \
        image:=/cam_front/image_raw camera_info:=/cam_front/camera_info radar:=/radar_front
"""

from pathlib import Path

from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def _share_dir() -> Path:
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("lircdepth_ros"))
    except (ImportError, LookupError, OSError):
        return Path(__file__).resolve().parents[1]


def generate_launch_description() -> LaunchDescription:
    share = _share_dir()
    arguments = {
        "checkpoint": ("", "path of the LiRCDepth checkpoint (.pt)"),
        "device": ("auto", "auto, cpu or cuda"),
        "params_file": (str(share / "config" / "lircdepth.yaml"), "node parameters YAML"),
        "fastdds_profile": (
            str(share / "config" / "fastdds_shm.xml"),
            "Fast DDS profile (shared memory)",
        ),
        "image": ("image", "camera image topic"),
        "camera_info": ("camera_info", "camera info topic"),
        "radar": ("radar", "radar PointCloud2 topic"),
        "depth": ("depth", "output depth topic"),
    }
    config = {name: LaunchConfiguration(name) for name in arguments}
    node = Node(
        package="lircdepth_ros",
        executable="lircdepth_node",
        name="lircdepth_node",
        output="screen",
        parameters=[
            config["params_file"],
            {"checkpoint": config["checkpoint"], "device": config["device"]},
        ],
        remappings=[
            ("image", config["image"]),
            ("camera_info", config["camera_info"]),
            ("radar", config["radar"]),
            ("depth", config["depth"]),
            ("depth/camera_info", [config["depth"], "/camera_info"]),
            ("depth/uncertainty", [config["depth"], "/uncertainty"]),
            ("depth/points", [config["depth"], "/points"]),
            ("depth/colored", [config["depth"], "/colored"]),
        ],
    )
    return LaunchDescription(
        [
            DeclareLaunchArgument(name, default_value=default, description=text)
            for name, (default, text) in arguments.items()
        ]
        + [SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", config["fastdds_profile"]), node]
    )
