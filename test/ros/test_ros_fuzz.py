"""The live node under fuzz from an independent process (test/ros/ros_fuzz_peer.py).

Every malformed or oversized input must be counted in /diagnostics under its own key,
logged once per kind (not per message), leave the node's memory bounded, and the node
must stay up and give depth for the good frame that follows.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.ros

PEER_TIMEOUT = 150
# The 36 MB 4000 x 3000 image itself passes through the middleware (shared memory) and
# rclpy; nothing the size of the model's work on it may follow. Unbounded, it was GBs.
BIG_INPUT_HWM_GROWTH_KB = 200_000
# Over the whole fuzz run, the resident set may grow by this much at most.
RSS_GROWTH_KB = 300_000
LOG_THROTTLE_SECONDS = 5.0


@pytest.fixture(scope="module")
def fuzz_results(synth_root, live_node, ros_tools, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("fuzz")
    out, log = folder / "results.json", folder / "peer.log"
    peer = ros_tools.peer.with_name("ros_fuzz_peer.py")
    process = ros_tools.start(
        [str(peer), str(synth_root), str(live_node.process.pid), str(out)], live_node.env, log
    )
    try:
        process.wait(timeout=PEER_TIMEOUT)
    finally:
        ros_tools.stop(process)
    assert out.is_file(), log.read_text() + live_node.log.read_text()
    return json.loads(out.read_text())


def _cases(results: dict) -> dict[str, dict]:
    return {
        name: value for name, value in results.items() if isinstance(value, dict) and "key" in value
    }


def test_node_survives_fuzz_and_gives_depth_after(fuzz_results, live_node):
    assert all(fuzz_results["warm_up"].values()), live_node.log.read_text()
    assert live_node.process.poll() is None, live_node.log.read_text()
    assert fuzz_results["good_frame_after"]["answered"], live_node.log.read_text()
    assert "Traceback" not in live_node.log.read_text()


def test_every_fault_is_counted_under_its_kind(fuzz_results, live_node):
    cases = _cases(fuzz_results)
    assert len(cases) >= 20
    wrong = {
        name: (case["key"], case["growth"], case["expected"], case["rounds_lost_in_transport"])
        for name, case in cases.items()
        if case["growth"] != case["expected"]
    }
    assert not wrong, (
        f"case: (key, counted, expected, rounds lost in transport) {wrong}\n{live_node.log.read_text()}"
    )
    assert fuzz_results["diagnostics"].get("bad.processing_errors", 0) == 0


def test_each_kind_is_logged_once_not_per_message(fuzz_results, live_node):
    log = live_node.log.read_text()
    for name, case in _cases(fuzz_results).items():
        key = case["key"]
        if key.startswith("rejected.") and case["seconds"] < LOG_THROTTLE_SECONDS - 1:
            lines = [line for line in log.splitlines() if f"[{key}]" in line]
            assert len(lines) == 1, f"{name}: {len(lines)} log lines for {case['sends']} sends"


def test_memory_stays_bounded_under_oversized_input(fuzz_results):
    before, big, end = (
        fuzz_results[k] for k in ("memory_before", "memory_after_big", "memory_end")
    )
    assert big["VmHWM"] - before["VmHWM"] < BIG_INPUT_HWM_GROWTH_KB, (before, big)
    assert end["VmRSS"] - before["VmRSS"] < RSS_GROWTH_KB, (before, end)


def test_truncated_serialised_message_never_reaches_the_node(fuzz_results):
    """A CameraInfo cut inside K on the wire (a short K) is dropped by the middleware."""
    assert fuzz_results["truncated_camera_info_received"] is False
