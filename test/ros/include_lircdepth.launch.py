"""A launch file that includes lircdepth.launch.py and then starts another process, which
prints the Fast DDS profile it was given under either name (the launch file must not leak it)."""

import sys

from ament_index_python.packages import get_package_share_directory
from launch.actions import ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("lircdepth")
    included = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(f"{share}/launch/lircdepth.launch.py"),
        launch_arguments={"checkpoint": "/nonexistent/student.pt"}.items(),
    )
    show = (
        "import os; names = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE'); "
        "print('after-include profile=' + (','.join(os.environ.get(n, '') for n in names).strip(',') or 'unset'))"
    )
    return LaunchDescription(
        [included, ExecuteProcess(cmd=[sys.executable, "-c", show], output="screen")]
    )
