"""Dataset preparation speed on the synthetic world: seconds per keyframe per output, and
the vectorised projection + z-buffer against a straightforward per-point Python loop.

    lircdepth bench prepare [--scenes 2 --keyframes 4 --width 704 --height 388]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from lircdepth.bench.options import world_parser
from lircdepth.data.accumulate import (
    LIDAR_MIN_DEPTH,
    SceneLidar,
    accumulated_map,
    depth_map,
    single_scan_map,
)
from lircdepth.data.association import association_label
from lircdepth.data.boxes import image_boxes
from lircdepth.data.interpolate import interpolate_depth
from lircdepth.data.nusc_sources import open_nuscenes
from lircdepth.data.prepare import PrepareConfig, ScenePreparer, sample_record, scene_keyframes
from lircdepth.data.radar import radar_points, radar_sample_data
from lircdepth.synth import SynthConfig, generate


def loop_depth_map(points_global, T_cam_from_global, camera_matrix, height, width):
    """The baseline: one point at a time, transform, project, bounds check, z-buffer."""
    depth_map_out = [[0.0] * width for _ in range(height)]
    rotation, translation = T_cam_from_global[:3, :3].tolist(), T_cam_from_global[:3, 3].tolist()
    (fx, _, cx), (_, fy, cy), _ = camera_matrix.tolist()
    for x, y, z in points_global.tolist():
        cam = [
            rotation[r][0] * x + rotation[r][1] * y + rotation[r][2] * z + translation[r]
            for r in range(3)
        ]
        depth = cam[2]
        if depth <= LIDAR_MIN_DEPTH:
            continue
        u, v = round(fx * cam[0] / depth + cx), round(fy * cam[1] / depth + cy)
        if 0 <= u < width and 0 <= v < height:
            current = depth_map_out[v][u]
            if current == 0.0 or depth < current:
                depth_map_out[v][u] = depth
    return np.asarray(depth_map_out, dtype=np.float32)


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = world_parser(__doc__)
    parser.add_argument("--accumulate-sweeps", type=int, default=80)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate(
            root,
            SynthConfig(
                scenes=args.scenes,
                keyframes=args.keyframes,
                seed=1,
                width=args.width,
                height=args.height,
            ),
        )
        config = PrepareConfig(
            dataroot=root, out=root / "out", accumulate_sweeps=args.accumulate_sweeps
        )
        nusc = open_nuscenes(root, config.version)
        preparer = ScenePreparer(config, nusc, window=config.accumulate_sweeps)
        poses = preparer.poses
        times: dict[str, list[float]] = {}
        loop_time = vector_time = 0.0
        points_total = 0
        for scene in nusc.scene:
            samples = scene_keyframes(nusc, scene)
            lidar, load_time = timed(
                SceneLidar.load,
                nusc,
                poses,
                [s["data"]["LIDAR_TOP"] for s in samples],
                config.movable_prefixes,
                config.movable_box_margin,
                config.accumulate_sweeps,
            )
            times.setdefault("lidar sweeps load + box flags (per keyframe)", []).append(
                load_time / len(samples)
            )
            for k, sample in enumerate(samples):
                record = sample_record(config, nusc, poses, scene, sample)
                camera = record["camera_token"]
                size = (record["width"], record["height"])
                T = poses.sensor_from_global(camera)
                K = poses.camera_matrix(camera)
                (boxes_2d, rows), t = timed(image_boxes, nusc.get_boxes(camera), T, K, *size)
                times.setdefault("boxes (2-D)", []).append(t)
                tokens = radar_sample_data(nusc, sample, config.radar)
                radar, t = timed(
                    radar_points,
                    nusc,
                    poses,
                    tokens,
                    preparer._radar_fields,
                    camera,
                    rows,
                    size,
                    config.radar,
                )
                times.setdefault("radar points", []).append(t)
                single = lidar.in_camera(k, 0, T)
                _, t = timed(single_scan_map, single, K, size[1], size[0])
                times.setdefault("lidar_single", []).append(t)
                sweeps = lidar.sweeps_in_camera(k, config.accumulate_sweeps, T)
                accumulated_published, t = timed(accumulated_map, sweeps, K, size[1], size[0])
                times.setdefault("lidar_accum", []).append(t)
                # The z-buffer kernel (nearest point wins) against the per-point loop.
                stacked = np.concatenate(sweeps)
                accumulated, t = timed(depth_map, stacked, K, size[1], size[0])
                vector_time += t
                baseline, t = timed(loop_depth_map, stacked, np.eye(4), K, size[1], size[0])
                loop_time += t
                points_total += len(stacked)
                assert np.allclose(baseline, accumulated, atol=1e-3), "baseline disagrees"
                dense, t = timed(interpolate_depth, accumulated_published, config.interpolation)
                times.setdefault("depth_interp", []).append(t)
                _, t = timed(association_label, radar, boxes_2d, dense)
                times.setdefault("assoc_label", []).append(t)
    keyframes = args.scenes * args.keyframes
    print(
        f"\nsynthetic world {args.scenes} scenes x {args.keyframes} keyframes at {args.width}x{args.height}"
    )
    print(f"{'output':<42}{'s / keyframe':>14}")
    for name, values in times.items():
        print(f"{name:<42}{np.mean(values):>14.4f}")
    print(f"{'total':<42}{sum(np.mean(v) for v in times.values()):>14.4f}")
    print(
        f"\nprojection + z-buffer of the accumulated stack ({points_total / keyframes:.0f} points / keyframe)"
    )
    print(f"{'implementation':<42}{'s / keyframe':>14}")
    print(f"{'per-point Python loop':<42}{loop_time / keyframes:>14.4f}")
    print(f"{'vectorised (geometry.rasterize_depth)':<42}{vector_time / keyframes:>14.4f}")
    print(f"{'speed-up':<42}{loop_time / vector_time:>13.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
