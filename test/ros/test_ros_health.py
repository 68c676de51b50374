"""The single-camera node's /diagnostics tells the truth: inputs that arrive and give no
depth (CameraInfo never comes, every image refused, every pair without TF) turn the status
to ERROR naming the cause within two diagnostics periods, and back to OK once depth comes.

One node and one peer process (`ros_health_peer.py`) run the phases in order. The same run
shows the depth's frame (`frames.camera` set, the images' frame_id another) and that a
network whose sigmoid underflows to exact 0 still publishes a finite depth > 0 (REP 118),
degraded mode when the radar goes silent, the lazy node without subscribers, and Ctrl-C
while frames flow.
"""

from __future__ import annotations

import json
import signal
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros

PERIOD = 1.0  # diagnostics.period of the node (the default)
PEER_TIMEOUT = 180
WARN, ERROR = 1, 2


@pytest.fixture(scope="module")
def underflow_checkpoint(tmp_path_factory):
    """A student whose depth head drives the sigmoid to exact 0 at every pixel."""
    import torch

    from lircdepth.models import build_model
    from lircdepth.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model("lircdepth")
    with torch.no_grad():
        model.decoder.depth_head.weight.fill_(-1e3)
    path = tmp_path_factory.mktemp("underflow") / "underflow.pt"
    state = {"arch": "lircdepth", "model_config": {}, "model": model.state_dict()}
    save_checkpoint(path, {**state, "global_step": 0})
    return path


@pytest.fixture(scope="module")
def health_run(synth_root, underflow_checkpoint, ros_tools, tmp_path_factory):
    folder = tmp_path_factory.mktemp("health")
    env = ros_tools.isolated_env()
    log = folder / "node.log"
    node = ros_tools.start_cpu_node(
        underflow_checkpoint,
        env,
        log,
        f"diagnostics.period:={PERIOD}",
        "frames.camera:=CAM_FRONT",
    )
    out = folder / "health.json"
    peer = ros_tools.start(
        [str(ros_tools.peer.with_name("ros_health_peer.py")), str(synth_root), str(out)],
        env,
        folder / "peer.log",
    )
    try:
        deadline = time.monotonic() + PEER_TIMEOUT
        while not out.is_file() and peer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert out.is_file(), (folder / "peer.log").read_text() + log.read_text()
        assert node.poll() is None, log.read_text()
        # Ctrl-C while frames flow: the worker is in (or near) a forward.
        node.send_signal(signal.SIGINT)
        interrupted = node.wait(timeout=30)
    finally:
        ros_tools.stop(peer, node)
    return {**json.loads(out.read_text()), "log": log.read_text(), "interrupted": interrupted}


def _phase(health_run, phase: str) -> list[dict]:
    records = [r for r in health_run["records"] if r["phase"] == phase]
    assert records, health_run
    return records


@pytest.mark.parametrize(
    "phase, cause",
    [
        ("no_camera_info", "no CameraInfo received on /camera_info"),
        ("refused", "(rejected.image.encoding): Image.encoding 'yuv422'"),
        ("no_tf", "(tf_failures)"),
    ],
)
def test_no_depth_is_an_error_naming_the_cause_within_two_periods(health_run, phase, cause):
    records = _phase(health_run, phase)
    named = [i for i, r in enumerate(records) if r["level"] >= WARN and cause in r["message"]]
    assert named and named[0] <= 1, [r["message"] for r in records]
    assert records[named[0]]["level"] == ERROR, records[named[0]]
    assert "no depth published" in records[named[0]]["message"]
    assert all(r["message"] != "running" for r in records[named[0] :]), records


def test_missing_camera_info_is_counted_and_logged(health_run):
    records = _phase(health_run, "no_camera_info")
    assert max(r["camera_info_missing"] for r in records) > 0, records
    assert "[rejected.camera_info.missing] no CameraInfo on /camera_info" in health_run["log"]
    assert "problems=0" not in health_run["log"]


def test_status_is_ok_once_depth_comes(health_run):
    last = _phase(health_run, "good")[-1]
    assert (last["level"], last["message"]) == (0, "running"), last
    assert last["published"] > 0


def test_outputs_take_the_frame_the_depth_is_in(health_run):
    depths = health_run["depths"]
    assert depths and {d["frame_id"] for d in depths} == {"CAM_FRONT"}, depths
    assert health_run["info_frames"] == ["CAM_FRONT"]


def test_underflowing_network_publishes_finite_positive_depth(underflow_checkpoint, health_run):
    from lircdepth.inference import DepthEstimator
    from lircdepth_ros.outputs import MIN_DEPTH

    estimator = DepthEstimator.from_checkpoint(underflow_checkpoint, device="cpu", backend="torch")
    raw = estimator.estimate(np.zeros((64, 96, 3), np.uint8), np.zeros((0, 6))).depth
    assert (raw == 0).any()  # the network does give exact 0
    depths = health_run["depths"]
    assert depths and all(d["all_finite"] for d in depths), depths
    assert min(d["min"] for d in depths) == pytest.approx(MIN_DEPTH), depths


def test_ctrl_c_during_forwards_logs_no_processing_error(health_run):
    assert health_run["interrupted"] == 0, health_run["log"]
    assert "bad.processing_errors" not in health_run["log"], health_run["log"]


def test_radar_silent_gives_camera_only_depth_with_a_warning(health_run):
    records = _phase(health_run, "radar_silent")
    text = "publishing depth from the camera alone (degraded.mode camera_only)"
    named = [r for r in records if r["level"] == WARN and text in r["message"]]
    assert named, [r["message"] for r in records]
    assert records[-1]["camera_only"] > 0, records[-1]
    assert [d for d in health_run["depths"] if d["phase"] == "radar_silent"]


def test_radar_silent_with_mode_stop_is_an_error_and_no_depth(health_run):
    records = _phase(health_run, "radar_silent_stop")
    text = "no depth (degraded.mode stop)"
    assert any(r["level"] == ERROR and text in r["message"] for r in records), records
    assert records[-1]["published"] - records[1]["published"] <= 1, records  # one in flight


def test_lazy_node_does_no_work_without_a_subscriber(health_run):
    records = _phase(health_run, "no_listener")
    assert records[-1]["no_subscriber"] > records[0]["no_subscriber"], records
    assert records[-1]["published"] == records[1]["published"], records
    idle = "idle: no subscriber to any output (lazy)"
    assert records[-1]["level"] == 0 and records[-1]["message"] == idle, records[-1]


# --- the verdict itself (pure) --------------------------------------------------------------


def _assess(health, counts, **kwargs):
    options = dict(
        image_topic="/image",
        camera_info_topic="/camera_info",
        waiting_for_camera_info=False,
        transport_hint="HINT",
        window_seconds=2.0,
    )
    return health.assess(
        counts, {"rejected.image.encoding": "yuv422 refused"}, **{**options, **kwargs}
    )


def test_verdict_names_refused_images_and_forgets_them_after_the_window():
    from lircdepth_ros.health import Health

    health = Health(window_periods=2)
    verdict = _assess(health, {"received.image": 5, "rejected.image.encoding": 5})
    assert verdict.no_depth
    assert verdict.warnings[1] == "5 images refused (rejected.image.encoding): yuv422 refused"
    counts = {"received.image": 10, "rejected.image.encoding": 5, "published": 5}
    assert _assess(health, counts).warnings  # still within the window, depth comes: WARN
    assert _assess(health, {**counts, "received.image": 15, "published": 10}).warnings == []


def test_verdict_warns_when_most_images_are_lost_in_transport():
    from lircdepth_ros.health import Health

    verdict = _assess(
        Health(), {"received.image": 1, "dropped.transport_lost.image": 9, "published": 1}
    )
    assert not verdict.no_depth
    assert verdict.warnings == ["9 of 10 images lost in transport on /image; HINT"]
    few = _assess(
        Health(), {"received.image": 9, "dropped.transport_lost.image": 1, "published": 9}
    )
    assert few.warnings == []
