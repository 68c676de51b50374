"""`ros2 launch ... rig:=nuscenes params_file:=mine.yaml`: the user's file wins over the
shipped rig file (issue 21: the rig file used to override the user's `topics.image`).
Real `ros2 launch` of this checkout's launch file, in its own ROS domain.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

try:
    import launch_ros  # noqa: F401
    import ros2cli  # noqa: F401
except ImportError as missing:
    pytest.skip(f"real ROS 2 tools not importable ({missing.name})", allow_module_level=True)

from test.helpers.ros_env import ROS2, interrupt, sourced_env, spawn, wait_for_text

pytestmark = [pytest.mark.ros, pytest.mark.slow]

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "lircdepth.launch.py"
READY_TIMEOUT = 180.0


def test_users_params_file_wins_over_the_rig_file(student_checkpoint, tmp_path):
    params = tmp_path / "mine.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "/**": {
                    "ros__parameters": {
                        "checkpoint": str(student_checkpoint),
                        "device": "cpu",
                        "topics": {"image": "/{camera}/image_rect_compressed"},
                    }
                }
            }
        )
    )
    env = sourced_env()
    log = tmp_path / "launch.log"
    process = spawn(
        [ROS2, "launch", str(LAUNCH_FILE), "rig:=nuscenes", f"params_file:={params}"], env, log
    )
    try:
        ready = wait_for_text(log, "ready:", process, READY_TIMEOUT)
        assert "inputs 6 cameras (/CAM_FRONT/image_rect_compressed, " in ready, ready
        assert "radars /RADAR_FRONT, " in ready, ready  # the rig file still applies
    finally:
        interrupt(process)
