"""The end-to-end demo: synthetic world -> prepare -> train -> evaluate -> export -> ROS replay -> report.

Every step skips work already on disk (delete a step's folder to redo it), so a second
run is quick. With `--dataroot` and `--checkpoint` the replay part runs on real
nuScenes with a trained student instead of the synthetic world.
ROS pieces (node, player, online evaluator) run as separate processes, as a robot
would run them; `--skip-ros` stops after the offline part.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lircdepth.resources import shipped_file
from lircdepth.training.visualize import colorize, error_map, save_png

RUNS = {
    "teacher": ("teacher", "teacher_synth_tiny.txt"),
    "student": ("student", "student_synth_tiny.txt"),
    "student_nodistill": ("student", "student_synth_tiny_nodistill.txt"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)"
    )
    parser.add_argument("--scenes", type=int, default=4, help="synthetic scenes (default 4)")
    parser.add_argument(
        "--keyframes", type=int, default=8, help="keyframes per synthetic scene (default 8)"
    )
    parser.add_argument(
        "--width", type=int, default=704, help="synthetic image width (default 704)"
    )
    parser.add_argument(
        "--height", type=int, default=388, help="synthetic image height (default 388)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-steps", type=int, default=None, help="override training steps per network"
    )
    parser.add_argument(
        "--dataroot", type=Path, help="real nuScenes dataroot: replay-evaluate it instead"
    )
    parser.add_argument("--version", default="v1.0-mini", help="nuScenes version of --dataroot")
    parser.add_argument("--checkpoint", type=Path, help="trained student for --dataroot")
    parser.add_argument("--skip-ros", action="store_true", help="stop after the offline steps")


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def make_world(args: argparse.Namespace, out: Path) -> Path:
    from lircdepth.synth import SynthConfig, generate
    from lircdepth.synth.preview import render_preview

    root = out / "nuscenes"
    if not (root / "v1.0-mini" / "scene.json").exists():
        config = SynthConfig(args.scenes, args.keyframes, args.seed, args.width, args.height)
        generate(root, config, workers=2)
    render_preview(root, "v1.0-mini", out / "preview.png")
    return root


def prepare_world(dataroot: Path, version: str, out: Path) -> Path:
    from lircdepth.data.prepare import PrepareConfig, prepare

    prepared = out / "prepared"
    prepare(
        PrepareConfig(
            dataroot=dataroot, version=version, out=prepared, workers=2, accumulate_keyframes=8
        )
    )
    return prepared


def train_networks(prepared: Path, out: Path, max_steps: int | None) -> dict[str, Path]:
    from lircdepth.training.options import resolve_options
    from lircdepth.training.trainer import train

    checkpoints = {}
    for name, (mode, args_file) in RUNS.items():
        overrides = {
            "data_path": str(prepared),
            "log_directory": str(out / "runs"),
            "model_name": name,
        }
        if mode == "student" and "nodistill" not in name:
            overrides["teacher_checkpoint"] = str(checkpoints["teacher"])
        if max_steps is not None:
            overrides["max_steps"] = max_steps
        best = out / "runs" / name / "best.pt"
        if not best.exists():
            _step(f"train {name} ({args_file})")
            train(resolve_options(mode, shipped_file(f"training/args/{args_file}"), overrides))
        checkpoints[name] = best
    return checkpoints


def evaluate_networks(checkpoints: dict[str, Path], prepared: Path, out: Path) -> dict[str, dict]:
    from lircdepth.training.evaluate import evaluate_checkpoint

    results = {}
    for name, checkpoint in checkpoints.items():
        path = out / "eval" / f"{name}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps(evaluate_checkpoint(checkpoint, prepared, split="test"), indent=2)
            )
        results[name] = json.loads(path.read_text())
    return results


def export_student(checkpoint: Path, out: Path) -> Path:
    from lircdepth.inference.export import export_onnx
    from lircdepth.inference.network import load_network

    onnx_path = out / "student.onnx"
    if not onnx_path.exists():
        export_onnx(load_network(checkpoint), onnx_path)
    return onnx_path


def sample_panel(checkpoint: Path, prepared: Path, out: Path) -> Path:
    """Image | radar | predicted depth | lidar | error for the first test frame, via the public API."""
    from lircdepth.data import RadarCameraDataset
    from lircdepth.geometry import rasterize_radar
    from lircdepth.inference import DepthEstimator

    frame = RadarCameraDataset(prepared, "test", mode="eval").load(0)
    image, points, lidar = frame["image"], frame["radar_points"][:, :6], frame["lidar_single"]
    estimator = DepthEstimator.from_checkpoint(checkpoint, device="auto")
    depth = estimator.estimate(image, points).depth
    max_depth = estimator.max_depth
    radar_depth = rasterize_radar(points, *image.shape[:2])[0]
    panel = np.concatenate(
        [
            image,
            colorize(radar_depth, max_depth, sparse=True),
            colorize(depth, max_depth),
            colorize(lidar, max_depth, sparse=True),
            error_map(depth, lidar),
        ]
    )
    path = out / "panel.png"
    save_png(panel, path)
    return path


class RosReplay:
    """Node + online evaluator + player, each its own process, on one ROS domain."""

    def __init__(self, out: Path, checkpoint: Path) -> None:
        self.out, self.checkpoint = out, checkpoint
        self.env = dict(
            os.environ,
            ROS_DOMAIN_ID=str(os.environ.get("ROS_DOMAIN_ID", "42")),
            PYTHONUNBUFFERED="1",
        )
        self.logs = out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def run(self, bag: Path) -> dict:
        online_json = self.out / "online" / f"{bag.name}.json"
        if online_json.exists():
            return json.loads(online_json.read_text())
        online_json.parent.mkdir(parents=True, exist_ok=True)
        ready = self.out / "online" / f"{bag.name}.ready"
        ready.unlink(missing_ok=True)
        node = self._spawn(
            "node",
            [
                sys.executable,
                "-m",
                "lircdepth_ros.node",
                "-p",
                f"checkpoint:={self.checkpoint}",
                "-p",
                "frames.fixed:=map",
            ],
        )
        evaluator = self._spawn(
            "evaluate",
            [
                sys.executable,
                "-m",
                "lircdepth",
                "bag",
                "evaluate",
                "--bag",
                str(bag),
                "--ready-file",
                str(ready),
                "--json",
                str(online_json),
                "--markdown",
                str(online_json.with_suffix(".md")),
                "--idle-timeout",
                "20",
            ],
        )
        try:
            deadline = time.monotonic() + 180
            while not ready.exists():
                if (
                    node.poll() is not None
                    or evaluator.poll() is not None
                    or time.monotonic() > deadline
                ):
                    raise RuntimeError(f"node or evaluator did not start; see {self.logs}")
                time.sleep(0.5)
            player = self._spawn(
                "play",
                [
                    sys.executable,
                    "-m",
                    "lircdepth",
                    "bag",
                    "play",
                    str(bag),
                    "--lockstep",
                    "--to-node",
                ],
            )
            if player.wait() != 0:
                raise RuntimeError(f"bag player failed; see {self.logs / 'play.log'}")
            evaluator.wait(timeout=300)
        finally:
            for process in (evaluator, node):
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
        if not online_json.exists():
            raise RuntimeError(f"online evaluation wrote no results; see {self.logs}")
        return json.loads(online_json.read_text())


def replay_scenes(
    dataroot: Path, version: str, prepared: Path | None, checkpoint: Path, out: Path
) -> dict:
    from lircdepth_ros.bag import convert_scenes

    scenes = _test_scene_names(dataroot, version, prepared) if prepared else None
    bag_root = out / "bags"
    bags = sorted(p for p in bag_root.iterdir() if p.is_dir()) if bag_root.exists() else []
    if not bags:
        bags = convert_scenes(dataroot, version, bag_root, scenes=scenes)
    return {bag.name: RosReplay(out, checkpoint).run(bag) for bag in bags[:1]}


def _test_scene_names(dataroot: Path, version: str, prepared: Path) -> list[str]:
    tokens = {
        json.loads(line)["scene_token"]
        for line in (prepared / "index" / "test.txt").read_text().splitlines()
    }
    scenes = json.loads((dataroot / version / "scene.json").read_text())
    return sorted(s["name"] for s in scenes if s["token"] in tokens)


def write_report(out: Path, offline: dict[str, dict], online: dict[str, dict]) -> Path:
    from lircdepth.metrics import format_markdown

    lines = ["# LiRCDepth demo report", ""]
    if (out / "preview.png").exists():
        lines += ["## The world", "", "![keyframe with lidar and radar](preview.png)", ""]
    if (out / "panel.png").exists():
        lines += [
            "## A test frame",
            "",
            "image | radar | predicted depth | lidar / error",
            "",
            "![panel](panel.png)",
            "",
        ]
    for name, results in offline.items():
        lines += [f"## Offline evaluation: {name}", "", format_markdown(results["metrics"]), ""]
    for bag, results in online.items():
        lines += [
            f"## Replay through lircdepth_node: {bag}",
            "",
            format_markdown(results["metrics"]),
            "",
        ]
        lines += [
            f"Frames scored: {results.get('frames_scored')} of {results.get('frames_expected')}",
            "",
        ]
    lines += _latency_lines(out / "logs")
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


def _latency_lines(logs: Path) -> list[str]:
    """The node's last periodic statistics line and the player's summary, verbatim."""
    node_stats = _last_line_with(logs / "node.log", "model=")
    player = _last_line_with(logs / "play.log", "published")
    if not (node_stats or player):
        return []
    lines = ["## Latency and rates (CPU, this machine)", ""]
    if node_stats:
        lines += [f"- node statistics: `{node_stats.split(']: ', 1)[-1]}`"]
    if player:
        lines += [f"- player: {player}"]
    return [*lines, ""]


def _last_line_with(path: Path, marker: str) -> str | None:
    if not path.exists():
        return None
    matches = [line.strip() for line in path.read_text().splitlines() if marker in line]
    return matches[-1] if matches else None


def run(args: argparse.Namespace) -> int:
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    offline: dict[str, dict] = {}
    if args.dataroot:
        if not args.checkpoint:
            raise SystemExit("--dataroot needs --checkpoint (a trained student)")
        dataroot, version, prepared, student = args.dataroot, args.version, None, args.checkpoint
    else:
        _step("synthetic nuScenes world")
        dataroot, version = make_world(args, out), "v1.0-mini"
        _step("prepare")
        prepared = prepare_world(dataroot, version, out)
        checkpoints = train_networks(prepared, out, args.max_steps)
        _step("evaluate (offline, test split)")
        offline = evaluate_networks(checkpoints, prepared, out)
        student = checkpoints["student"]
        _step("export ONNX")
        print(export_student(student, out))
        sample_panel(student, prepared, out)
    online = {}
    if not args.skip_ros:
        _step("ROS 2 replay: bag -> lircdepth_node -> online evaluation")
        online = replay_scenes(dataroot, version, prepared, student, out)
    report = write_report(out, offline, online)
    print(f"\nreport: {report}  ({time.monotonic() - started:.0f} s)")
    shutil.copy(report, out / "README.md")
    return 0
