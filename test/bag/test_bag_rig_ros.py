"""A surround-view bag through the lockstep player, a per-camera depth responder and the
online evaluator, each in its own process: every camera scored on its own, the rig as a
whole, and a camera that never answers holding up neither the replay nor the scoring."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from lircdepth.atomic import strict_json_value
from lircdepth_ros.bag.convert import image_topic
from lircdepth_ros.bag.play import play_bag
from lircdepth_ros.bag.scoring import RigScorer, score_rig

pytestmark = pytest.mark.ros
HELPERS = Path(__file__).parent
MUTE = "CAM_BACK_LEFT"
DEPTH_TOPIC = "/{camera}/depth"


def constant_predictions(bag: Path, cameras: list[str]) -> dict[str, dict[int, np.ndarray]]:
    """What the responder answers: camera i gets (10 + i) m everywhere; MUTE nothing."""
    scorer = RigScorer(bag, cameras)
    out = {}
    for index, camera in enumerate(cameras):
        if camera == MUTE:
            continue
        truth = scorer.scorers[camera].ground_truth
        out[camera] = {
            s: np.full((truth.camera(s).height, truth.camera(s).width), 10.0 + index, np.float32)
            for s in truth.targets
        }
    return out


def test_rig_replay_scores_every_camera_and_survives_a_silent_one(
    rig_bag, rig_world, tmp_path, ros_env, domain_id, start_process, wait_for_file
):
    cameras = list(rig_world.RIG)
    pairs = [
        f"{image_topic(c)}={DEPTH_TOPIC.format(camera=c)}" + ("=mute" if c == MUTE else "")
        for c in cameras
    ]
    responder_ready = tmp_path / "responder.ready"
    start_process(
        [str(HELPERS / "depth_responder.py"), "0.05", str(responder_ready), *pairs], ros_env
    )
    ready, out, picture = (
        tmp_path / "evaluator.ready",
        tmp_path / "online.json",
        tmp_path / "surround.png",
    )
    evaluate = ["-m", "lircdepth", "bag", "evaluate", "--bag", str(rig_bag), "--cameras", *cameras]
    outputs = ["--ready-file", str(ready), "--json", str(out)]
    outputs += ["--markdown", str(out.with_suffix(".md"))]
    limits = ["--surround", str(picture), "--idle-timeout", "4", "--timeout", "120"]
    evaluator = start_process([*evaluate, "--depth-topic", DEPTH_TOPIC, *outputs, *limits], ros_env)
    wait_for_file(responder_ready)
    wait_for_file(ready, timeout=120)
    start = time.monotonic()
    stats = play_bag(
        rig_bag,
        lockstep=True,
        depth_topic=DEPTH_TOPIC,
        domain_id=domain_id,
        wait_for_subscribers=60.0,
        lockstep_timeout=3.0,
    )
    replay_seconds = time.monotonic() - start
    assert evaluator.wait(timeout=120) == 0

    # The player: every frame of the five answering cameras answered, the mute one reported,
    # and its missing answers cost one lockstep timeout, not one per frame.
    assert stats.frames_per_camera == {c: 3 for c in cameras}
    assert stats.answered_per_camera == {c: 0 if c == MUTE else 3 for c in cameras}
    assert stats.cameras_silent == [MUTE]
    assert replay_seconds < 3.0 * 2 + 10

    results = json.loads(out.read_text())
    # As the JSON file holds them (a metric without images is null).
    expected = strict_json_value(
        score_rig(rig_bag, constant_predictions(rig_bag, cameras), cameras=cameras)
    )
    assert results["cameras_silent"] == [MUTE] and results["cameras_unmatched"] == []
    for camera in cameras:
        assert results["cameras"][camera]["metrics"] == expected["cameras"][camera]["metrics"]
        assert results["cameras"][camera]["frames_scored"] == (0 if camera == MUTE else 3)
    assert results["metrics"] == expected["metrics"]
    assert results["depth_topics"]["CAM_BACK"] == "/CAM_BACK/depth"
    table = out.with_suffix(".md").read_text()
    assert "| rig (all cameras) | 15/18 |" in table

    # The surround picture: six tiles around the top view; the mute camera's tile is grey.
    image = cv2.imread(str(picture))
    assert image is not None and image.shape[1] >= 900 and image.shape[0] > 600
