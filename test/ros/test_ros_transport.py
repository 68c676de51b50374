"""Camera-size images over the default DDS transports (no shared-memory profile).

Fast DDS's defaults fragment a 1600 x 900 rgb8 image (4.3 MB) over UDP, and best-effort
delivery loses most of them. The node must count the samples lost in transport, say
so pointing at config/fastdds_shm.xml (log and /diagnostics), and keep running.
"""

from __future__ import annotations

import json
import time

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]

LOST_HINT = "camera-size images need the Fast DDS shared-memory profile"


def test_default_transports_losing_camera_images_are_reported(
    student_checkpoint, ros_tools, tmp_path
):
    env = ros_tools.isolated_env(shm_profile=False)
    log = tmp_path / "node.log"
    node = ros_tools.start(
        [
            *ros_tools.node_args(
                student_checkpoint, "device:=cpu", "diagnostics.no_input_warning:=60.0"
            ),
            "--default-transports",
        ],
        env,
        log,
    )
    flood = None
    try:
        deadline = time.monotonic() + 90
        while "ready:" not in log.read_text() and time.monotonic() < deadline:
            assert node.poll() is None, log.read_text()
            time.sleep(0.5)
        statuses = tmp_path / "statuses.json"
        flood = ros_tools.start(
            [str(ros_tools.peer), "flood", "1600", "900", "8", str(statuses)],
            env,
            tmp_path / "flood.log",
        )
        flood.wait(timeout=120)
        time.sleep(3)  # one more warning period after the last image
        assert node.poll() is None, log.read_text()
    finally:
        ros_tools.stop(flood, node)
    text = log.read_text()
    assert "Fast DDS profile=(unset)" in text
    assert f"image messages lost in transport on /image; {LOST_HINT}" in text, text
    lost = [
        s
        for s in json.loads(statuses.read_text())
        if s["level"] >= 1 and "images lost in transport on /image" in s["message"]
    ]
    assert lost and LOST_HINT in lost[0]["message"], statuses.read_text()
