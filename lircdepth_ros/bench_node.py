"""Benchmark of lircdepth_node under a 12 Hz camera / 13 Hz radar stream; prints a table.

The node runs in its own process (shipped Fast DDS shared-memory profile); this process
streams synthetic-world frames stamped with the current time and measures, per size:
throughput (depth images per second), end-to-end latency (image stamp -> depth received),
and from the node's /diagnostics the per-stage times, so the node's own overhead
(convert + publish, the work outside DepthEstimator) is compared with the model time in
the same run.

    lircdepth bench node --checkpoint student.pt --device cuda --sizes 704x388 1600x900

`--cameras 6`: a surround node (`cameras: [CAM_0, ... CAM_5]`, one radar) fed all six
cameras at each tick; the same node runs batched (`batch.max_size: 0`, one forward for the
rig) and then one camera at a time (`batch.max_size: 1`, set while it runs), so both are
measured in one process. Stage times are then per rig batch (convert and publish summed
over its cameras).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from lircdepth.resources import shipped_file
from lircdepth_ros.compat import profile_env
from lircdepth_ros.qos import latched_qos

if TYPE_CHECKING:
    from rclpy.client import Client

CAMERA_HZ, RADAR_HZ = 12.0, 13.0
WARM_UP_SECONDS = 4.0
NODE_NAME = "/lircdepth_node"


def _checkpoint(folder: Path) -> Path:
    """A randomly initialised student: speed does not depend on the weights."""
    from lircdepth.models import build_model
    from lircdepth.models.checkpoint import save_checkpoint

    path = folder / "student.pt"
    model = build_model("lircdepth")
    save_checkpoint(
        path,
        {"arch": "lircdepth", "model_config": {}, "model": model.state_dict(), "global_step": 0},
    )
    return path


def _camera_names(count: int) -> list[str]:
    """[""] (the single-camera node's topics) or CAM_0 ... CAM_{count-1}."""
    return [""] if count == 1 else [f"CAM_{index}" for index in range(count)]


class Streamer:
    """Publishes one synthetic frame to every camera at 12 Hz and the radar at 13 Hz, and
    collects the node's depth answers and node-level /diagnostics stage times."""

    def __init__(self, size: tuple[int, int], cameras: list[str], folder: Path) -> None:
        import copy

        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import (
            qos_profile_sensor_data,
        )
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2
        from tf2_msgs.msg import TFMessage

        from lircdepth.synth import SynthConfig, generate
        from lircdepth_ros.synth_frames import CAMERA, load_frames

        self.rclpy = rclpy
        width, height = size
        root = folder / f"world_{width}x{height}"
        if not root.exists():
            generate(root, SynthConfig(scenes=1, keyframes=2, seed=1, width=width, height=height))
        frames, transforms = load_frames(root, limit=1)
        self.frame = frames[0]
        self.cameras = cameras
        self.node = rclpy.create_node(f"bench_streamer_{width}_{len(cameras)}")
        latched = latched_qos()
        camera_tf = next(t for t in transforms if t.child_frame_id == CAMERA)
        for name in cameras:
            if name:
                rig_tf = copy.deepcopy(camera_tf)
                rig_tf.child_frame_id = name
                transforms.append(rig_tf)
        # Kept: the latched /tf_static lives as long as its publisher.
        self._tf = self.node.create_publisher(TFMessage, "/tf_static", latched)
        self._tf.publish(TFMessage(transforms=transforms))
        sensor = qos_profile_sensor_data
        prefix = {name: f"{name}/" if name else "" for name in cameras}
        self.pub_info = [
            self.node.create_publisher(CameraInfo, f"{prefix[n]}camera_info", sensor)
            for n in cameras
        ]
        self.pub_image = [
            self.node.create_publisher(Image, f"{prefix[n]}image", sensor) for n in cameras
        ]
        self.pub_radar = self.node.create_publisher(PointCloud2, "radar", sensor)
        self.images = [copy.deepcopy(self.frame.image) for _ in cameras]
        for name, image in zip(cameras, self.images, strict=True):
            image.header.frame_id = name or image.header.frame_id
        self.latencies: list[float] = []
        self.stages: dict[str, list[float]] = defaultdict(list)
        self.counts: dict[str, float] = {}  # the node's latest batches, batched_frames
        for name in cameras:
            self.node.create_subscription(Image, f"{prefix[name]}depth", self._on_depth, 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_depth(self, msg) -> None:
        from lircdepth_ros.tf_buffer import stamp_to_seconds

        self.latencies.append(time.time() - stamp_to_seconds(msg.header.stamp))

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.hardware_id != "lircdepth":
                continue
            for kv in status.values:
                if kv.key.startswith("latency_ms.") and kv.key.endswith(".mean"):
                    self.stages[kv.key[len("latency_ms.") : -len(".mean")]].append(float(kv.value))
                elif kv.key in ("batches", "batched_frames"):
                    self.counts[kv.key] = float(kv.value)

    def wait_for_node(self) -> None:
        end = time.monotonic() + 120
        while (
            min(p.get_subscription_count() for p in self.pub_image) == 0 and time.monotonic() < end
        ):
            self.rclpy.spin_once(self.node, timeout_sec=0.1)

    def set_batch_size(self, size: int) -> None:
        """`ros2 param set /lircdepth_node batch.max_size SIZE`, through the service."""
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
        from rcl_interfaces.srv import SetParameters

        client: Client = self.node.create_client(SetParameters, f"{NODE_NAME}/set_parameters")
        if not client.wait_for_service(timeout_sec=30):
            raise SystemExit("the node's set_parameters service never appeared")
        value = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=size)
        future = client.call_async(
            SetParameters.Request(parameters=[Parameter(name="batch.max_size", value=value)])
        )
        self.rclpy.spin_until_future_complete(self.node, future, timeout_sec=30)
        response = future.result() if future.done() else None
        if response is None or not response.results[0].successful:
            raise SystemExit(f"could not set batch.max_size to {size}")
        self.node.destroy_client(client)

    def run(self, seconds: float) -> dict[str, float]:
        """Stream `WARM_UP_SECONDS` unmeasured, then `seconds` measured; one table row."""
        self._stream(WARM_UP_SECONDS)
        self.latencies.clear()
        self.stages.clear()
        counts_before = dict(self.counts)
        images = self._stream(seconds)
        settle = time.monotonic() + 2.0
        while time.monotonic() < settle:
            self.rclpy.spin_once(self.node, timeout_sec=0.05)
        received = len(self.latencies)
        turns = self.counts.get("batches", 0) - counts_before.get("batches", 0)
        row = {
            "images sent": images,
            "depth received": received,
            "depth images/s": received / seconds,
            "rig frames/s": received / seconds / len(self.cameras),
        }
        if self.latencies:
            row["e2e ms (median)"] = 1000 * statistics.median(self.latencies)
            row["e2e ms (p90)"] = 1000 * sorted(self.latencies)[int(0.9 * (received - 1))]
        for stage, values in self.stages.items():
            row[f"{stage} ms"] = statistics.median(values)
        if turns:  # a rig: how many cameras each worker turn served
            frames = self.counts["batched_frames"] - counts_before.get("batched_frames", 0)
            row["cameras per turn"] = frames / turns
            if "model ms" in row:
                row["model ms per camera"] = row["model ms"] / row["cameras per turn"]
        return row

    def _stream(self, seconds: float) -> int:
        start = time.time()
        next_image, next_radar, images = start, start + 0.013, 0
        while time.time() < start + seconds:
            now = time.time()
            if now >= next_radar:
                self.pub_radar.publish(_stamped(self.frame.radar, next_radar))
                next_radar += 1 / RADAR_HZ
            if now >= next_image:
                for pub_info, pub_image, image in zip(
                    self.pub_info, self.pub_image, self.images, strict=True
                ):
                    info = _stamped(self.frame.camera_info, next_image)
                    info.header.frame_id = image.header.frame_id
                    pub_info.publish(info)
                    pub_image.publish(_stamped(image, next_image))
                    images += 1
                next_image += 1 / CAMERA_HZ
            wait = max(0.0, min(next_image, next_radar) - time.time())
            self.rclpy.spin_once(self.node, timeout_sec=wait)
        return images

    def close(self) -> None:
        self.node.destroy_node()


def _stamped(msg, t: float):
    msg.header.stamp.sec, nanosec = divmod(int(t * 1e9), 1_000_000_000)
    msg.header.stamp.nanosec = nanosec
    return msg


def _node_process(args, checkpoint: Path, cameras: list[str], env: dict) -> subprocess.Popen:
    params = [
        f"checkpoint:={checkpoint}",
        f"device:={args.device}",
        f"backend:={args.backend}",
        "diagnostics.period:=1.0",
    ]
    if cameras != [""]:
        params.append(f"cameras:=[{', '.join(cameras)}]")  # radars: [] = the one `radar` topic
    return subprocess.Popen(
        [sys.executable, "-m", "lircdepth_ros.launcher", *(x for p in params for x in ("-p", p))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="default: a random student")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sizes", nargs="+", default=["704x388"], help="WIDTHxHEIGHT")
    parser.add_argument(
        "--cameras",
        type=int,
        default=1,
        help="cameras of the node (1: the single-camera node; more: a rig, batched and one "
        "camera at a time)",
    )
    args = parser.parse_args(argv)
    env = dict(
        os.environ,
        ROS_DOMAIN_ID=os.environ.get("ROS_DOMAIN_ID", "42"),
    )
    profile = shipped_file("config/fastdds_shm.xml")
    if profile is not None:  # absent: the default transports (not a profile named "None")
        env.update(profile_env(profile))  # Jazzy and Kilted differ
    os.environ.update(env)
    import rclpy

    cameras = _camera_names(args.cameras)
    modes = {"": None} if cameras == [""] else {" batched": 0, " one at a time": 1}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint = args.checkpoint or _checkpoint(folder)
        rclpy.init()
        for size in args.sizes:
            width, height = (int(x) for x in size.split("x"))
            node = _node_process(args, checkpoint, cameras, env)
            streamer = Streamer((width, height), cameras, folder)
            try:
                streamer.wait_for_node()
                for label, batch_size in modes.items():
                    if batch_size is not None:
                        streamer.set_batch_size(batch_size)
                    rows[f"{size}{label}"] = streamer.run(args.seconds)
            finally:
                streamer.close()
                node.terminate()
                node.wait(timeout=30)
        rclpy.shutdown()
    _print_table(rows)
    return 0


def _print_table(rows: dict[str, dict[str, float]]) -> None:
    for row in rows.values():
        model = row.get("model ms")
        if model:
            own = row.get("convert ms", 0.0) + row.get("publish ms", 0.0)
            row["node overhead ms"] = own
            row["overhead % of model"] = 100 * own / model
    keys = list(dict.fromkeys(k for row in rows.values() for k in row))
    width = max(14, *(len(name) + 2 for name in rows))
    print(f"{'metric':<24}" + "".join(f"{name:>{width}}" for name in rows))
    for key in keys:
        cells = "".join(f"{rows[s].get(key, float('nan')):>{width}.1f}" for s in rows)
        print(f"{key:<24}{cells}")


if __name__ == "__main__":
    sys.exit(main())
