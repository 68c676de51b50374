"""Launch lircdepth_node with the shipped parameters and the Fast DDS shared-memory profile.

    ros2 launch lircdepth lircdepth.launch.py checkpoint:=/path/student.pt \
        image:=/cam_front/image_raw camera_info:=/cam_front/camera_info radar:=/radar_front
    ros2 launch lircdepth lircdepth.launch.py checkpoint:=/path/student.pt rig:=nuscenes

`rig:=nuscenes` adds config/rig_nuscenes.yaml: six cameras and five radars on the topics
of `lircdepth bag convert` (the image/camera_info/radar/depth arguments then do not apply;
see docs/ros.md, "Surround view"). Files apply in this order, the last one winning: the
shipped config/lircdepth.yaml, the rig file, the user's `params_file:`, then the
`checkpoint`/`device`/`use_sim_time` arguments.

Several instances: `namespace:=/car/front node_name:=depth_front` (topics and parameters
under the namespace; each instance's /diagnostics status is named by its full node name);
`log_level:=debug` sets the node's log level; `managed:=true` starts a managed (lifecycle)
node (`ros2 lifecycle set /lircdepth_node configure`, then `activate`).

The profile is given to the node's process only (additional_env), so a launch file that
includes this one does not pass it on to the processes it starts afterwards.
"""

from pathlib import Path

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription
from lircdepth_ros.compat import profile_env_names


def _share_dir() -> Path:
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("lircdepth"))
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
        "namespace": ("", "namespace of the node and its relative topics; empty = none"),
        "node_name": ("lircdepth_node", "node name (several instances need distinct names)"),
        "log_level": ("info", "log level: debug, info, warn, error or fatal"),
        "managed": ("false", "true: a managed (lifecycle) node, configured by ros2 lifecycle set"),
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
    names = ("use_sim_time", "fastdds_profile", "image", "camera_info", "radar")
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
    # The user's params file goes after the rig file, so its topics.* (e.g. compressed
    # images) win over the rig's; the shipped defaults go first.
    shipped = str(_share_dir() / "config" / "lircdepth.yaml")
    user = LaunchConfiguration("params_file").perform(context)
    files = [shipped, *map(str, rig_files), *([user] if user != shipped else [])]
    node = Node(
        package="lircdepth",
        executable="lircdepth_node",
        name=LaunchConfiguration("node_name"),
        namespace=LaunchConfiguration("namespace"),
        ros_arguments=["--log-level", LaunchConfiguration("log_level")],
        arguments=["--managed"]
        if LaunchConfiguration("managed").perform(context) == "true"
        else [],
        output="screen",
        parameters=[*files, overrides],
        # Under the name the installed Fast DDS reads (3.x, Kilted: FASTDDS_..., 2.x, Jazzy:
        # FASTRTPS_...; lircdepth_ros/compat.py).
        additional_env=dict.fromkeys(profile_env_names(), config["fastdds_profile"]),
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
