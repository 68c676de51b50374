"""Benchmark of lircdepth_node under a 12 Hz camera / 13 Hz radar stream; prints a table.

The node runs in its own process (shipped Fast DDS shared-memory profile); this process
streams synthetic-world frames stamped with the current time and measures, per size:
throughput (depth images per second), end-to-end latency (image stamp -> depth received),
and from the node's /diagnostics the per-stage times, so the node's own overhead
(convert + publish, the work outside DepthEstimator.estimate) is compared with the model
time in the same run.

    python bench/bench_node.py --checkpoint student.pt --device cuda --sizes 704x388 1600x900
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

REPO = Path(__file__).resolve().parents[1]
CAMERA_HZ, RADAR_HZ = 12.0, 13.0


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


def _stream(size: tuple[int, int], seconds: float, folder: Path) -> dict[str, float]:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from tf2_msgs.msg import TFMessage

    from lircdepth.synth import SynthConfig, generate
    from lircdepth_ros.synth_frames import load_frames
    from lircdepth_ros.tf_buffer import stamp_to_seconds

    width, height = size
    root = folder / f"world_{width}x{height}"
    generate(root, SynthConfig(scenes=1, keyframes=2, seed=1, width=width, height=height))
    frames, transforms = load_frames(root, limit=1)
    frame = frames[0]
    node = rclpy.create_node(f"bench_streamer_{width}")
    latched = QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )
    node.create_publisher(TFMessage, "/tf_static", latched).publish(
        TFMessage(transforms=transforms)
    )
    pub_info = node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    pub_image = node.create_publisher(Image, "image", qos_profile_sensor_data)
    pub_radar = node.create_publisher(PointCloud2, "radar", qos_profile_sensor_data)
    latencies: list[float] = []
    stages: dict[str, list[float]] = defaultdict(list)

    def on_depth(msg: Image) -> None:
        latencies.append(time.time() - stamp_to_seconds(msg.header.stamp))

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            for kv in status.values:
                if kv.key.startswith("latency_ms.") and kv.key.endswith(".mean"):
                    stages[kv.key[len("latency_ms.") : -len(".mean")]].append(float(kv.value))

    node.create_subscription(Image, "depth", on_depth, 10)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    end = time.monotonic() + 60
    while pub_image.get_subscription_count() == 0 and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)

    def stamped(msg, t: float):
        msg.header.stamp.sec, nanosec = divmod(int(t * 1e9), 1_000_000_000)
        msg.header.stamp.nanosec = nanosec
        return msg

    start = time.time()
    next_image, next_radar, images = start, start + 0.013, 0
    while time.time() < start + seconds:
        now = time.time()
        if now >= next_radar:
            pub_radar.publish(stamped(frame.radar, next_radar))
            next_radar += 1 / RADAR_HZ
        if now >= next_image:
            pub_info.publish(stamped(frame.camera_info, next_image))
            pub_image.publish(stamped(frame.image, next_image))
            next_image += 1 / CAMERA_HZ
            images += 1
        rclpy.spin_once(node, timeout_sec=max(0.0, min(next_image, next_radar) - time.time()))
    settle = time.monotonic() + 2.0
    while time.monotonic() < settle:
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    row = {"images sent": images, "depth received": len(latencies), "fps": len(latencies) / seconds}
    if latencies:
        row["e2e ms (median)"] = 1000 * statistics.median(latencies)
        row["e2e ms (p90)"] = 1000 * sorted(latencies)[int(0.9 * (len(latencies) - 1))]
    for stage, values in stages.items():
        row[f"{stage} ms"] = statistics.median(values)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="default: a random student")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sizes", nargs="+", default=["704x388"], help="WIDTHxHEIGHT")
    args = parser.parse_args()
    env = dict(
        os.environ,
        ROS_DOMAIN_ID=os.environ.get("ROS_DOMAIN_ID", "42"),
        FASTDDS_DEFAULT_PROFILES_FILE=str(REPO / "config" / "fastdds_shm.xml"),
    )
    os.environ.update(env)
    import rclpy

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint = args.checkpoint or _checkpoint(folder)
        rclpy.init()
        for size in args.sizes:
            width, height = (int(x) for x in size.split("x"))
            node = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lircdepth_ros.node",
                    "-p",
                    f"checkpoint:={checkpoint}",
                    "-p",
                    f"device:={args.device}",
                    "-p",
                    f"backend:={args.backend}",
                    "-p",
                    "diagnostics.period:=1.0",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                rows[size] = _stream((width, height), args.seconds, folder)
            finally:
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
    print(f"{'metric':<24}" + "".join(f"{size:>14}" for size in rows))
    for key in keys:
        cells = "".join(f"{rows[s].get(key, float('nan')):>14.1f}" for s in rows)
        print(f"{key:<24}{cells}")


if __name__ == "__main__":
    sys.exit(main())
