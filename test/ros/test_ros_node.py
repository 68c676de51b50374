"""The node in real processes over real DDS: synthetic-world frames in, exact depth out."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    from lircdepth.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("ros_world")
    generate(root, SynthConfig(scenes=1, keyframes=4, seed=3, width=704, height=388))
    return root


def _stop(*processes):
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def test_depth_matches_estimator_exactly(
    small_world, student_checkpoint, ros_env, ros_tools, tmp_path
):
    from lircdepth.inference import DepthEstimator
    from lircdepth_ros.calibration import RadarToCamera
    from lircdepth_ros.frame import frame_inputs
    from lircdepth_ros.synth_frames import load_frames
    from lircdepth_ros.tf_buffer import TfBuffer, stamp_to_seconds

    node = ros_tools.start(
        ros_tools.node_args(student_checkpoint, "device:=cpu"), ros_env, tmp_path / "node.log"
    )
    out = tmp_path / "depth.npz"
    subscriber = ros_tools.start(
        [str(ros_tools.peer), "subscribe", str(out), "3", "150"], ros_env, tmp_path / "sub.log"
    )
    publisher = None
    try:
        import time

        time.sleep(8)  # node loads torch and the model
        publisher = ros_tools.start(
            [str(ros_tools.peer), "publish", str(small_world)], ros_env, tmp_path / "pub.log"
        )
        subscriber.wait(timeout=170)
    finally:
        _stop(*[p for p in (publisher, node, subscriber) if p is not None])
    received = dict(np.load(out))
    assert received, (tmp_path / "node.log").read_text()
    frames, transforms = load_frames(small_world)
    buffer = TfBuffer()
    for transform in transforms:
        buffer.set_transform(transform, static=True)
    import torch

    torch.set_num_threads(int(ros_env["OMP_NUM_THREADS"]))  # same float summation order as the node
    estimator = DepthEstimator.from_checkpoint(student_checkpoint, device="cpu")
    by_stamp = {f"{stamp_to_seconds(f.image.header.stamp):.6f}": f for f in frames}
    for stamp, depth in received.items():
        frame = by_stamp[stamp]
        inputs = frame_inputs(frame.image, frame.camera_info, [frame.radar], RadarToCamera(buffer))
        assert len(inputs.radar_points) > 0
        expected = estimator.estimate(inputs.image, inputs.radar_points).depth
        np.testing.assert_array_equal(depth, expected)
