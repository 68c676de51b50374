"""Synthetic-world generation speed: per-sensor cost at full size and a whole dataset.

    lircdepth bench synth [--scenes 2] [--keyframes 10] [--workers 2]

Prints two tables: the CPU seconds of one frame of each sensor (median of a few), and
the wall and CPU time of generating the dataset (target: 2 scenes x 10 keyframes at
1600 x 900 in under 2 minutes on 2 cores, i.e. CPU seconds / 2 < 120 on idle cores).
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lircdepth.bench.options import world_parser
from lircdepth.synth import SynthConfig, generate
from lircdepth.synth.config import camera_matrix, sensor_rig
from lircdepth.synth.generate import ego_transform
from lircdepth.synth.sensors import lidar_sweep, radar_sweep, render_camera
from lircdepth.synth.world import build_scene, snapshot


def _median_cpu_seconds(job: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        job()
        times.append(time.process_time() - start)
    return statistics.median(times)


def sensor_costs(width: int, height: int, repeats: int) -> dict[str, float]:
    """CPU seconds of one camera frame, lidar sweep and radar sweep at a mid-scene instant."""
    rng = np.random.default_rng(0)
    scene = build_scene(rng, duration=6.0)
    boxes = snapshot(scene, 2.0)
    T_world_from_ego = ego_transform(scene, 2.0)
    rig = sensor_rig()
    K = camera_matrix(width, height)

    def pose(channel: str) -> np.ndarray:
        return T_world_from_ego @ rig[channel].T_ego_from_sensor

    velocity = scene.rigid_velocity(2.0, pose("RADAR_FRONT")[:3, 3])
    return {
        f"camera {width}x{height}": _median_cpu_seconds(
            lambda: render_camera(scene, boxes, pose("CAM_FRONT"), K, width, height), repeats
        ),
        "lidar sweep": _median_cpu_seconds(
            lambda: lidar_sweep(scene, boxes, pose("LIDAR_TOP"), rng), repeats
        ),
        "radar sweep": _median_cpu_seconds(
            lambda: radar_sweep(boxes, pose("RADAR_FRONT"), velocity, rng), repeats
        ),
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def dataset_seconds(config: SynthConfig, workers: int) -> tuple[float, float]:
    """(wall, CPU) seconds to generate the dataset; CPU / workers is the wall time on
    idle cores, which a shared machine's wall clock does not show."""
    with tempfile.TemporaryDirectory() as folder:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        generate(Path(folder), config, workers=workers)
        return time.perf_counter() - wall, _cpu_seconds() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = world_parser(__doc__, keyframes=10, width=1600, height=900)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="frames timed per sensor")
    args = parser.parse_args(argv)

    print(f"{'sensor frame':<24}{'CPU s':>8}")
    for name, seconds in sensor_costs(args.width, args.height, args.repeats).items():
        print(f"{name:<24}{seconds:>8.3f}")

    config = SynthConfig(args.scenes, args.keyframes, seed=0, width=args.width, height=args.height)
    wall, cpu = dataset_seconds(config, args.workers)
    keyframes = args.scenes * args.keyframes
    print()
    print(f"{'dataset':<30}{'workers':>8}{'wall s':>8}{'CPU s':>8}{'CPU s/keyframe':>16}")
    label = f"{args.scenes} scenes x {args.keyframes} keyframes"
    print(f"{label:<30}{args.workers:>8}{wall:>8.1f}{cpu:>8.1f}{cpu / keyframes:>16.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
