"""Surround view: the rig's topics and parameters, pairing with several radars, the bounded
batch gather, and a six-camera, two-radar node in a real process (ros_rig_peer.py).
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS
from lircdepth_ros.batching import Job, PendingFrames
from lircdepth_ros.rig import RigError, RigTopics, rig_layout
from lircdepth_ros.sync import RigSync

CAMERAS = list(FULL_CAMERAS)
RADARS = ["RADAR_FRONT", "RADAR_BACK"]
FRAMES = 2


def test_no_names_is_the_single_camera_node():
    layout = rig_layout((), ())
    assert not layout.is_rig
    (camera,) = layout.cameras
    assert (camera.image, camera.camera_info, camera.depth) == ("image", "camera_info", "depth")
    assert camera.output("points") == "depth/points"
    assert [(r.stream, r.topic) for r in layout.radars] == [("radar", "radar")]


def test_named_cameras_and_radars_get_topics_from_templates():
    layout = rig_layout(
        ("CAM_FRONT", "CAM_BACK"),
        ("RADAR_FRONT",),
        RigTopics(image="/{camera}/image_rgb", radar="/{radar}"),
    )
    assert layout.is_rig
    assert [c.image for c in layout.cameras] == ["/CAM_FRONT/image_rgb", "/CAM_BACK/image_rgb"]
    assert layout.cameras[1].camera_info == "CAM_BACK/camera_info"
    assert layout.cameras[1].output("uncertainty") == "CAM_BACK/depth/uncertainty"
    assert [(r.stream, r.topic) for r in layout.radars] == [("RADAR_FRONT", "/RADAR_FRONT")]


@pytest.mark.parametrize(
    "cameras, radars, topics, named",
    [
        (("CAM_FRONT", "CAM_BACK"), (), RigTopics(image="image"), "topics.image"),
        (("CAM_FRONT",), (), RigTopics(depth="{cam}/depth"), "topics.depth"),
        (("CAM FRONT",), (), RigTopics(), "cameras"),
        (("CAM_FRONT", "CAM_FRONT"), (), RigTopics(), "cameras"),
        ((), ("R1", "R2"), RigTopics(radar="radar"), "topics.radar"),
    ],
)
def test_bad_rig_names_and_templates_name_the_parameter(cameras, radars, topics, named):
    with pytest.raises(RigError, match=f"'{named}'"):
        rig_layout(cameras, radars, topics)


def test_params_refuse_one_frame_parameters_for_several_sensors(student_checkpoint):
    from lircdepth_ros.params import PARAMETERS, ParameterError, config_from_values

    values = {name: default for name, (default, _, _) in PARAMETERS.items()}
    values.update(checkpoint=str(student_checkpoint), cameras=["CAM_FRONT", "CAM_BACK"])
    assert config_from_values(values).cameras == ("CAM_FRONT", "CAM_BACK")
    with pytest.raises(ParameterError, match="'frames.camera'"):
        config_from_values({**values, "frames.camera": "CAM_FRONT"})
    with pytest.raises(ParameterError, match="'extrinsic"):
        config_from_values(
            {
                **values,
                "extrinsic.translation": [0.0, 0.0, 0.0],
                "extrinsic.rotation_xyzw": [0.0, 0.0, 0.0, 1.0],
            }
        )


def test_override_of_a_name_list_must_hold_names():
    from lircdepth_ros.params import ParameterError, check_override

    check_override("cameras:=[CAM_FRONT, CAM_BACK]")
    with pytest.raises(ParameterError, match="'cameras'"):
        check_override("cameras:=[1, 2]")


def test_rig_sync_pairs_the_nearest_sweep_of_each_radar():
    sync = RigSync(slop=0.03, queue_size=10, max_wait=0.1, radars=("front", "back"))
    assert sync.add_sweep("front", 0.92, "f0", now=0) == []
    assert sync.add_sweep("front", 0.99, "f1", now=0) == []
    assert sync.add_image(1.0, "i1", now=0) == []  # "back" may still send a nearer sweep
    assert sync.add_sweep("back", 1.02, "b1", now=0) == []  # "front" still undecided
    assert sync.add_sweep("front", 1.06, "f2", now=0) == [("i1", {"front": "f1", "back": "b1"})]
    # a radar with no sweep within the slop is left out; the image still pairs
    assert sync.add_sweep("back", 1.15, "b2", now=0) == []
    assert sync.add_image(1.07, "i2", now=0) == [("i2", {"front": "f2"})]
    # no radar within the slop: the image is dropped
    sync.add_image(1.5, "i3", now=0)
    assert sync.expire(now=0.2) == []
    assert sync.counters.images_unmatched == 1 and sync.counters.pairs == 2


def _job(camera: int, queued: float) -> Job:
    return Job(camera, f"image{camera}", [], queued)


def test_gather_waits_for_every_live_camera_but_not_longer_than_the_wait():
    frames = PendingFrames(3)
    frames.put(_job(0, time.monotonic()))
    threading.Timer(0.05, lambda: frames.put(_job(1, time.monotonic()))).start()
    started = time.monotonic()
    jobs = frames.take(lambda: [0, 1], lambda: 5.0, 0.01, lambda: True)
    assert sorted(job.camera for job in jobs) == [0, 1]
    assert time.monotonic() - started < 2.0  # both here: no need to wait out the 5 s
    frames.put(_job(2, time.monotonic()))
    started = time.monotonic()
    jobs = frames.take(lambda: [0, 1, 2], lambda: 0.2, 0.01, lambda: True)  # 0, 1 silent
    assert [job.camera for job in jobs] == [2] and 0.15 < time.monotonic() - started < 2.0


def test_a_newer_pair_supersedes_and_blocks_a_put_back():
    frames = PendingFrames(1)
    old = _job(0, 0.0)
    assert frames.put(old) is False
    assert frames.put(_job(0, 1.0)) is True
    (taken,) = frames.take(lambda: [0], lambda: 0.0, 0.01, lambda: True)
    frames.put(_job(0, 2.0))
    assert frames.put_back(taken) is False  # the newer one wins
    (newest,) = frames.take(lambda: [0], lambda: 0.0, 0.01, lambda: True)
    assert frames.put_back(newest) is True and newest.retry


@pytest.fixture(scope="module")
def rig_results(synth_root, student_checkpoint, ros_tools, tmp_path_factory) -> dict:
    """A six-camera, two-radar node and the rig peer, in two processes."""
    from pathlib import Path

    folder = tmp_path_factory.mktemp("rig")
    env = ros_tools.isolated_env()
    node_log = folder / "node.log"
    node = ros_tools.start_cpu_node(
        student_checkpoint,
        env,
        node_log,
        f"cameras:=[{', '.join(CAMERAS)}]",
        f"radars:=[{', '.join(RADARS)}]",
        "topics.image:=/{camera}/image_rgb",
        "diagnostics.period:=0.2",
        "tf.wait:=0.3",
    )
    out = folder / "out"
    try:
        peer = ros_tools.start(
            [
                str(Path(__file__).with_name("ros_rig_peer.py")),
                str(synth_root),
                str(out),
                str(FRAMES),
            ],
            env,
            folder / "peer.log",
        )
        try:
            peer.wait(timeout=400)
        finally:
            ros_tools.stop(peer)
        assert node.poll() is None, node_log.read_text()
    finally:
        ros_tools.stop(node)
    logs = (folder / "peer.log").read_text() + node_log.read_text()
    assert Path(f"{out}.json").is_file(), logs
    results = json.loads(Path(f"{out}.json").read_text())
    results["depth"] = dict(np.load(f"{out}.npz"))
    results["logs"] = logs
    return results


@pytest.mark.ros
def test_six_camera_node_answers_every_camera(rig_results):
    assert rig_results["all"] == dict.fromkeys(CAMERAS, FRAMES), rig_results["logs"]
    node = rig_results["all_diagnostics"]["lircdepth"]["values"]
    assert node["cameras"] == 6 and node["published"] >= 6 * FRAMES
    # one forward serves several cameras
    assert node["batched_frames"] / node["batches"] >= 2, node


@pytest.mark.ros
def test_camera_without_camera_info_or_tf_never_blocks_the_others(rig_results):
    answered = rig_results["faults"]
    assert answered["CAM_BACK_LEFT"] == answered["CAM_BACK_RIGHT"] == 0
    assert all(
        answered[c] == FRAMES for c in CAMERAS if c not in ("CAM_BACK_LEFT", "CAM_BACK_RIGHT")
    )
    statuses = rig_results["faults_diagnostics"]
    no_info, no_tf = statuses["CAM_BACK_LEFT"], statuses["CAM_BACK_RIGHT"]
    # WARN, or ERROR while the images of the phase are still within the health window
    assert no_info["level"] in (1, 2) and "CameraInfo" in no_info["message"], no_info
    assert no_info["values"]["rejected.camera_info.missing"] >= 1
    assert no_tf["level"] in (1, 2) and "tf_failures" in no_tf["message"], no_tf
    assert no_tf["values"]["tf_failures"] >= 1
    good = statuses["CAM_FRONT"]["message"]
    assert "CameraInfo" not in good and "tf_failures" not in good, good
    assert "CAM_BACK_LEFT" in statuses["lircdepth"]["message"]


@pytest.mark.ros
def test_rig_camera_whose_images_give_no_depth_is_an_error_naming_the_cause(rig_results):
    """The verdict of the single-camera node (test_ros_health.py), per camera of a rig."""
    history = rig_results["faults_history"]
    errors = [s["message"] for s in history["CAM_BACK_LEFT"] if s["level"] == 2]
    cause = "no CameraInfo received on /CAM_BACK_LEFT/camera_info"
    assert errors and "no depth published" in errors[0] and cause in errors[0], history


@pytest.mark.ros
def test_each_radar_reaches_the_camera_it_sees(rig_results):
    statuses = rig_results["all_diagnostics"]
    front = statuses["CAM_FRONT"]["values"]
    back = statuses["CAM_BACK"]["values"]
    assert front["radar_points.RADAR_FRONT"] > 0 and front.get("radar_points.RADAR_BACK") == 0
    assert back["radar_points.RADAR_BACK"] == front["radar_points.RADAR_FRONT"]
    assert back.get("radar_points.RADAR_FRONT") == 0
    # the same image and, turned round, the same radar: the same depth
    depth = rig_results["depth"]
    np.testing.assert_allclose(depth["CAM_BACK"], depth["CAM_FRONT"], rtol=1e-5, atol=1e-4)


def test_shipped_nuscenes_rig_file_gives_the_bag_topics(student_checkpoint):
    import yaml

    from lircdepth.resources import shipped_file
    from lircdepth_ros.params import PARAMETERS, config_from_values

    def flat(tree: dict, prefix: str = "") -> dict:
        out = {}
        for key, value in tree.items():
            name = f"{prefix}{key}"
            out.update(flat(value, f"{name}.") if isinstance(value, dict) else {name: value})
        return out

    rig = yaml.safe_load(shipped_file("config/rig_nuscenes.yaml").read_text())
    overrides = flat(rig["/**"]["ros__parameters"])
    assert set(overrides) <= set(PARAMETERS)
    values = {name: default for name, (default, _, _) in PARAMETERS.items()}
    config = config_from_values({**values, **overrides, "checkpoint": str(student_checkpoint)})
    layout = rig_layout(config.cameras, config.radars, config.topics)
    assert (config.cameras, config.radars) == (FULL_CAMERAS, FULL_RADARS)
    assert layout.cameras[0].image == "/CAM_FRONT/image_rgb"
    assert layout.cameras[3].depth == "/CAM_BACK/depth"
    assert layout.radars[1].topic == "/RADAR_FRONT_LEFT"


def test_message_filters_pairing_gives_one_sweep_of_every_radar():
    pytest.importorskip("message_filters")
    from sensor_msgs.msg import Image, PointCloud2

    from lircdepth_ros.mf_sync import MessageFiltersPairing

    def stamped(msg, seconds: float):
        msg.header.stamp.sec, msg.header.stamp.nanosec = int(seconds), int(seconds % 1 * 1e9)
        return msg

    got = []
    pairing = MessageFiltersPairing(0.05, 10, radars=("front", "back"))
    image = stamped(Image(), 10.0)
    front, back = stamped(PointCloud2(), 10.01), stamped(PointCloud2(), 9.99)
    got += pairing.add("front", front)
    got += pairing.add("image", image)
    assert got == []  # "back" has sent nothing yet
    got += pairing.add("back", back)
    assert got == [(image, {"front": front, "back": back})]


def _subscription_qos(env: dict, topics: list[str], timeout: float = 60.0) -> dict:
    """QoS of the node's subscription on each topic, as the ROS graph shows it."""
    from lircdepth_ros.bag.ros_runtime import ros_node, spin_until

    found = {}
    with ros_node("qos_probe", int(env["ROS_DOMAIN_ID"])) as (node, executor):

        def known() -> bool:
            for topic in topics:
                infos = [
                    i
                    for i in node.get_subscriptions_info_by_topic(topic)
                    if i.node_name == "lircdepth_node"
                ]
                if infos:
                    found[topic] = infos[0].qos_profile
            return len(found) == len(topics)

        spin_until(executor, known, timeout)
    return found


@pytest.mark.ros
def test_radar_readers_keep_a_burst_of_sweeps_reliable_too(student_checkpoint, ros_tools, tmp_path):
    """A lockstep player sends the sweeps between two frames at once; readers as deep as
    `qos.depth` (made for camera-size images) lost some, so images paired without them.
    With `qos.sensor_data:=false` every input is reliable (the bag player's offer)."""
    from rclpy.qos import ReliabilityPolicy

    env = ros_tools.isolated_env()
    log = tmp_path / "node.log"
    node = ros_tools.start_cpu_node(
        student_checkpoint,
        env,
        log,
        "cameras:=[CAM_FRONT, CAM_BACK]",
        "radars:=[RADAR_FRONT, RADAR_BACK]",
        "topics.radar:=/{radar}",
        "qos.depth:=2",
        "sync.queue_size:=12",
        "qos.sensor_data:=false",
    )
    try:
        qos = _subscription_qos(env, ["/RADAR_FRONT", "/RADAR_BACK", "/CAM_FRONT/image"])
        deadline = time.monotonic() + 60
        while "ready:" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        ros_tools.stop(node)
    assert len(qos) == 3, log.read_text()
    assert {q.reliability for q in qos.values()} == {ReliabilityPolicy.RELIABLE}
    # the graph does not carry history depths: the ready line says them
    assert "QoS reliable, depth 2 (radar 12);" in log.read_text(), log.read_text()
