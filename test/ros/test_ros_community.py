"""The node in real processes fed what community nuScenes bags hold: JPEG CompressedImage on
`/CAM_FRONT/image_rect_compressed`, packed 43-byte radar clouds, TF on `/tf` only (ego
poses at 2 Hz, no /tf_static), under use_sim_time with /clock, then the same keyframes
again after /clock jumps back (a looping bag), then a radar cloud lacking the network's
channels. One node and one peer run serve the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros

FRAMES = 4
REPO = Path(__file__).resolve().parents[2]
PEER_TIMEOUT = 240


@pytest.fixture(scope="module")
def community_run(synth_root, student_checkpoint, ros_tools, tmp_path_factory):
    folder = tmp_path_factory.mktemp("community")
    env = ros_tools.isolated_env()
    node = ros_tools.start(
        [
            *ros_tools.node_args(
                student_checkpoint,
                "device:=cpu",
                "backend:=torch",
                "diagnostics.period:=0.2",
                "tf.wait:=1.0",
                "tf.cache_time:=1.0",  # shorter than one loop: old data would be refused
                "frames.fixed:=map",
                "cameras:=[CAM_FRONT, CAM_BACK]",  # CAM_BACK publishes raw images only
                "radars:=[RADAR_FRONT]",
                "topics.image:=/{camera}/image_rect_compressed",
                "topics.camera_info:=/{camera}/camera_info",
                "topics.depth:=/{camera}/depth",
                "topics.radar:=/{radar}",
            ),
            "--config",  # this checkout's shipped YAML (not an installed share's copy)
            str(REPO / "config" / "lircdepth.yaml"),
            "--ros-args",
            "-p",
            "use_sim_time:=true",
        ],
        env,
        folder / "node.log",
    )
    peer = ros_tools.start(
        [
            str(ros_tools.peer.with_name("ros_community_peer.py")),
            str(synth_root),
            str(FRAMES),
            str(folder),
        ],
        env,
        folder / "peer.log",
    )
    try:
        peer.wait(timeout=PEER_TIMEOUT)
    finally:
        ros_tools.stop(peer, node)
    logs = (folder / "peer.log").read_text() + (folder / "node.log").read_text()
    assert (folder / "results.json").is_file(), logs
    results = json.loads((folder / "results.json").read_text())
    return results, dict(np.load(folder / "depth.npz")), logs, env


def _expected_depths(synth_root, student_checkpoint, threads: int) -> dict[str, np.ndarray]:
    """The estimator on the decoded JPEG, radar through /tf with interpolated ego poses."""
    import torch

    from lircdepth.inference import DepthEstimator
    from lircdepth_ros.calibration import RadarToCamera
    from lircdepth_ros.frame import frame_inputs
    from lircdepth_ros.synth_community import load_community_frames
    from lircdepth_ros.tf_buffer import TfBuffer, stamp_to_seconds
    from lircdepth_ros.tf_window import BoundedTransforms

    frames = load_community_frames(synth_root, limit=FRAMES)
    buffer = TfBuffer()
    for frame in frames:
        for transform in frame.tf:
            buffer.set_transform(transform)
    extrinsics = RadarToCamera(BoundedTransforms(buffer, 0.5), "map")
    torch.set_num_threads(threads)
    estimator = DepthEstimator.from_checkpoint(student_checkpoint, device="cpu", backend="torch")
    expected = {}
    for frame in frames:
        inputs = frame_inputs(frame.image, frame.camera_info, [frame.radar], extrinsics)
        assert len(inputs.radar_points) > 0
        key = f"{stamp_to_seconds(frame.image.header.stamp):.6f}"
        expected[key] = estimator.estimate(inputs.image, inputs.radar_points).depth
    return expected


def test_compressed_jpeg_packed_radar_tf_only_give_the_estimators_depth(
    community_run, synth_root, student_checkpoint
):
    results, depths, logs, env = community_run
    assert all(results["loop1"]), logs  # the first one too, though its /tf came late
    expected = _expected_depths(synth_root, student_checkpoint, int(env["OMP_NUM_THREADS"]))
    for key, depth in expected.items():
        np.testing.assert_allclose(depths[f"loop1_{key}"], depth, rtol=1e-5, atol=1e-4)


def test_tf_buffer_cleared_when_clock_jumps_back(community_run):
    results, depths, logs, _ = community_run
    assert all(results["loop2"]), logs
    for key in [k for k in depths if k.startswith("loop1_")]:
        np.testing.assert_array_equal(depths[key.replace("loop1_", "loop2_")], depths[key])


def test_absent_radar_channels_are_counted_and_named(community_run):
    results, _, logs, _ = community_run
    assert results["ti_answered"], logs
    assert results["ti_counted"], results["diagnostics"]
    assert float(results["diagnostics"]["radar.channel_zero.vx"]) >= 1
    warnings = [line for line in logs.splitlines() if "radar.channel_zero" in line]
    assert len(warnings) == 1, logs  # once per radar and field set, not per sweep
    assert "radar.preset:=ti_mmwave" in warnings[0] and "/RADAR_FRONT" in warnings[0], warnings


def test_malformed_compressed_images_are_rejected_inputs(community_run):
    results, _, logs, _ = community_run
    assert all(results["malformed"].values()), (results["malformed"], logs)
    assert results["good_after_malformed"], logs
    assert "Traceback" not in logs


def test_silent_camera_warning_names_the_topic_of_the_other_image_type(community_run):
    _, _, logs, _ = community_run
    hint = (
        "no publisher on /CAM_BACK/image_rect_compressed; sensor_msgs/msg/Image topics next "
        "to it: /CAM_BACK/image_rect: set transport:=raw"
    )
    assert hint in logs, logs
