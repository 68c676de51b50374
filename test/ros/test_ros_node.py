"""The node in real processes over real DDS: synthetic-world frames in, exact depth out,
and every kind of bad input counted while the node keeps running.

One node process serves the whole module (start-up costs more than the tests); the SIGTERM
test stops its own.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from test.helpers.ros_env import wait_for_text

pytestmark = pytest.mark.ros

FRAMES = 3
PEER_TIMEOUT = 120
READY_TIMEOUT = 120


def _run_peer(ros_tools, live_node, args: list[str], log) -> None:
    process = ros_tools.start([str(ros_tools.peer), *args], live_node.env, log)
    try:
        process.wait(timeout=PEER_TIMEOUT)
    finally:
        ros_tools.stop(process)
    assert live_node.process.poll() is None, live_node.log.read_text()


def test_depth_matches_estimator_exactly(
    synth_root, student_checkpoint, live_node, ros_tools, tmp_path
):
    import torch

    from lircdepth.inference import DepthEstimator
    from lircdepth_ros.calibration import RadarToCamera
    from lircdepth_ros.frame import frame_inputs
    from lircdepth_ros.outputs import positive_depth
    from lircdepth_ros.synth_frames import load_frames
    from lircdepth_ros.tf_buffer import TfBuffer, stamp_to_seconds

    out = tmp_path / "depth.npz"
    subscriber = ros_tools.start(
        [str(ros_tools.peer), "subscribe", str(out), str(FRAMES), str(PEER_TIMEOUT)],
        live_node.env,
        tmp_path / "sub.log",
    )
    try:
        _run_peer(
            ros_tools, live_node, ["publish", str(synth_root), str(FRAMES)], tmp_path / "pub.log"
        )
        subscriber.wait(timeout=30)
    finally:
        ros_tools.stop(subscriber)
    received = dict(np.load(out))
    assert len(received) == FRAMES, (tmp_path / "pub.log").read_text() + live_node.log.read_text()

    frames, transforms = load_frames(synth_root, limit=FRAMES)
    buffer = TfBuffer()
    for transform in transforms:
        buffer.set_transform(transform, static=True)
    torch.set_num_threads(int(live_node.env["OMP_NUM_THREADS"]))  # the node's summation order
    estimator = DepthEstimator.from_checkpoint(student_checkpoint, device="cpu", backend="torch")
    for frame in frames:
        inputs = frame_inputs(frame.image, frame.camera_info, [frame.radar], RadarToCamera(buffer))
        assert len(inputs.radar_points) > 0
        expected = positive_depth(estimator.estimate(inputs.image, inputs.radar_points).depth)
        depth = received[f"{stamp_to_seconds(frame.image.header.stamp):.6f}"]
        np.testing.assert_array_equal(depth, expected)


@pytest.fixture(scope="module")
def bad_input_results(synth_root, live_node, ros_tools, tmp_path_factory) -> dict:
    """Sends every malformed input once to the shared node (see ros_peer.BAD_CASES)."""
    folder = tmp_path_factory.mktemp("bad_input")
    out = folder / "results.json"
    _run_peer(ros_tools, live_node, ["bad", str(synth_root), str(out)], folder / "peer.log")
    assert out.is_file(), (folder / "peer.log").read_text() + live_node.log.read_text()
    return json.loads(out.read_text())


BAD_CASES = [
    "wrong_encoding",
    "size_not_matching_camera_info",
    "truncated_image",
    "image_under_network_rows",
    "cloud_missing_field",
    "cloud_wrong_point_step",
    "non_finite_points",
    "zero_points",
    "stamps_far_apart",
    "stamps_backwards",
    "missing_tf",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_counted(case, bad_input_results, live_node):
    result = bad_input_results[case]
    assert result["counted"], (
        f"{case}: {result['counter']} did not grow\n{live_node.log.read_text()}"
    )


def test_refused_encoding_warning_lists_exactly_the_accepted_ones(bad_input_results, live_node):
    text = live_node.log.read_text()
    accepted = "(accepted: rgb8, bgr8, rgba8, bgra8, mono8, 8UC1, 8UC3)"
    assert f"[rejected.image.encoding] Image.encoding 'yuv422' is not accepted {accepted}" in text
    assert "bad.processing_errors" not in text, text


def test_pair_waits_for_tf_that_trails_the_data(bad_input_results, live_node):
    assert bad_input_results["late_tf"]["answered"], live_node.log.read_text()


def test_diagnostics_name_the_engine_and_why(bad_input_results, live_node):
    diagnostics = bad_input_results["diagnostics"]
    assert diagnostics["backend"] == "torch fp32", diagnostics
    assert diagnostics["backend_reason"] and diagnostics["device"] == "cpu", diagnostics


def test_node_keeps_running_after_bad_input(bad_input_results, live_node):
    assert bad_input_results["good_frame_after"]["answered"], live_node.log.read_text()
    assert live_node.process.poll() is None


@pytest.mark.parametrize(
    "params, named",
    [
        (["checkpoint:=/does/not/exist.pt"], "checkpoint"),
        (["sync.slop:=5.0"], "sync.slop"),
        (["device:=tpu"], "device"),
        (["sync.queue_size:=many"], "sync.queue_size"),
    ],
)
def test_bad_start_up_parameters_exit_with_a_clear_message(
    params, named, student_checkpoint, ros_tools
):
    done = subprocess.run(
        [sys.executable, *ros_tools.node_args(student_checkpoint, *params)],
        env=ros_tools.isolated_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"'{named}'" in done.stderr, done.stderr


def test_sigterm_ends_the_node_and_frees_its_shared_memory(
    student_checkpoint, ros_tools, shared_memory_segments, tmp_path
):
    """`kill`, systemd and `docker stop` send SIGTERM: the node must shut down as on Ctrl-C,
    not leave its 64 MiB shared-memory segment in /dev/shm."""
    log = tmp_path / "node.log"
    # `-p use_sim_time:=true` without --ros-args: a ROS node parameter, not the node's own
    node = ros_tools.start(
        ros_tools.node_args(student_checkpoint, "device:=cpu", "use_sim_time:=true"),
        ros_tools.isolated_env(),
        log,
    )
    try:
        wait_for_text(log, "ready:", node, READY_TIMEOUT, poll=0.2)
        assert "clock sim (use_sim_time)" in log.read_text(), log.read_text()
        segments = shared_memory_segments(node.pid)
        assert segments, log.read_text()
        node.terminate()
        assert node.wait(timeout=30) == 0, log.read_text()
    finally:
        ros_tools.stop(node)
    assert not [path for path in segments if path.exists()]


def test_sigterm_while_loading_the_model_ends_the_node_within_2_s(
    student_checkpoint, ros_tools, shared_memory_segments, tmp_path
):
    """A supervisor (`docker stop`) kills after 10 s: SIGTERM during the model load must not
    wait for the load to finish."""
    log = tmp_path / "node.log"
    node = ros_tools.start_cpu_node(student_checkpoint, ros_tools.isolated_env(), log)
    try:
        wait_for_text(log, "loading", node, READY_TIMEOUT, poll=0.05)
        segments = shared_memory_segments(node.pid)
        node.terminate()
        try:
            code = node.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still loading 2 s after SIGTERM:\n{log.read_text()}")
    finally:
        ros_tools.stop(node)
    assert "ready:" not in log.read_text(), "the load ended before the SIGTERM: test void"
    assert code == 0, log.read_text()
    assert not [path for path in segments if path.exists()]
