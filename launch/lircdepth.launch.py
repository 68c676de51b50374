"""Launch lircdepth_node with the shipped parameters and the Fast DDS shared-memory profile.

    ros2 launch lircdepth_ros lircdepth.launch.py checkpoint:=/path/student.pt \
        image:=/cam_front/image_raw camera_info:=/cam_front/camera_info radar:=/radar_front
    ros2 launch lircdepth_ros lircdepth.launch.py checkpoint:=/path/student.pt rig:=nuscenes

`rig:=nuscenes` adds config/rig_nuscenes.yaml after the params file: six cameras and five
radars on the topics of `lircdepth bag convert` (the image/camera_info/radar/depth
arguments then do not apply; see docs/ros.md, "Surround view").

The profile is given to the node's process only (additional_env), so a launch file that
includes this one does not pass it on to the processes it starts afterwards.
"""

from pathlib import Path

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

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
        "checkpoint": ("", "path of the LiRCDepth checkpoint (.pt); empty = params_file's"),
        "device": ("", "auto, cpu, cuda or cuda:N; empty = params_file's"),
        "params_file": (str(share / "config" / "lircdepth.yaml"), "node parameters YAML"),
        "rig": ("", "empty: the params file's cameras; nuscenes: add config/rig_nuscenes.yaml"),
        "use_sim_time": ("false", "use /clock (bag replay with --clock)"),
        "fastdds_profile": (
            str(share / "config" / "fastdds_shm.xml"),
            "Fast DDS profile (shared memory)",
        ),
        "image": ("image", "camera image topic"),
        "camera_info": ("camera_info", "camera info topic"),
        "radar": ("radar", "radar PointCloud2 topic"),
        "depth": ("depth", "output depth topic"),
    }
    return LaunchDescription(
        [
            DeclareLaunchArgument(name, default_value=default, description=text)
            for name, (default, text) in arguments.items()
        ]
        + [OpaqueFunction(function=_node)]
    )


def _node(context) -> list[Node]:
    """The node; `checkpoint`/`device` override the params file only when given."""
    names = ("params_file", "use_sim_time", "fastdds_profile", "image", "camera_info", "radar")
    config = {name: LaunchConfiguration(name) for name in (*names, "depth")}
    overrides = {
        name: value
        for name in ("checkpoint", "device")
        if (value := LaunchConfiguration(name).perform(context))
    }
    overrides["use_sim_time"] = ParameterValue(config["use_sim_time"], value_type=bool)
    rig = LaunchConfiguration("rig").perform(context)
    rig_files = [_share_dir() / "config" / f"rig_{rig}.yaml"] if rig else []
    if rig_files and not rig_files[0].is_file():
        raise RuntimeError(f"launch argument rig:={rig}: no such rig file {rig_files[0]}")
    node = Node(
        package="lircdepth_ros",
        executable="lircdepth_node",
        name="lircdepth_node",
        output="screen",
        parameters=[config["params_file"], *map(str, rig_files), overrides],
        additional_env={"FASTDDS_DEFAULT_PROFILES_FILE": config["fastdds_profile"]},
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
    return [node]
