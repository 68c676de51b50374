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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lircdepth.atomic import write_json_atomic, write_text_atomic
from lircdepth.resources import shipped_file
from lircdepth.stage_clock import StageClock
from lircdepth.training.curves import plot_curves
from lircdepth.training.visualize import colorize, error_map, save_png

RUNS = {
    "teacher": ("teacher", "teacher_synth_tiny.txt"),
    "student": ("student", "student_synth_tiny.txt"),
    "student_nodistill": ("student", "student_synth_tiny_nodistill.txt"),
}
# The distilled student needs the teacher's best.pt, so the teacher trains first, alone,
# with 2 threads; then both students train side by side, one core each, so that they
# differ only by distillation (same thread count, same load). A distilled step costs
# about 1.5x a plain one: the wave lasts as long as the distilled run. OpenMP's default
# spinning threads make the 2-thread teacher 1.4x faster on idle cores than sleeping
# ones (OMP_WAIT_POLICY=PASSIVE: teacher step 1.36 against 0.97 s at 64x128); on a
# machine shared with other jobs PASSIVE is the better choice: set it in the environment.
WAVES = (("teacher",), ("student", "student_nodistill"))
LABELS = {
    "teacher": "teacher CaFNet",
    "student": "student, distilled",
    "student_nodistill": "student, no distillation",
}


@dataclass(frozen=True)
class Preset:
    """World size and training steps of one demo size; steps None: the argument file's."""

    scenes: int
    keyframes: int
    width: int
    height: int
    teacher_steps: int | None
    student_steps: int | None

    def steps(self, name: str) -> int | None:
        return self.teacher_steps if RUNS[name][0] == "teacher" else self.student_steps


# 128x72 images give a 64x128 network input (8 sky rows dropped) for training and
# evaluation alike: every network sees the whole frame, road gradient included. Measured
# on the default world: a student step at 64x128 costs 0.8x one at 96x192 (0.59 against
# 0.72 s, one core), world + prepare 0.55x the CPU time, and the teacher learns on whole
# frames instead of crops (test MAE 2.54 m after 500 steps against 3.69 m after 320).
PRESETS = {
    "quick": Preset(6, 4, 128, 72, 10, 10),
    "default": Preset(24, 10, 128, 72, None, None),
    "full": Preset(48, 10, 128, 72, 1500, 1000),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)"
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_const", dest="preset", const="quick", help="smoke run (minutes)"
    )
    size.add_argument(
        "--full",
        action="store_const",
        dest="preset",
        const="full",
        help="more scenes and steps: better numbers, about 55 minutes on 2 idle cores",
    )
    parser.set_defaults(preset="default")
    for name, text in (
        ("scenes", "synthetic scenes"),
        ("keyframes", "keyframes per synthetic scene"),
        ("width", "synthetic image width"),
        ("height", "synthetic image height"),
    ):
        parser.add_argument(f"--{name}", type=int, default=None, help=f"{text} (default: preset)")
    parser.add_argument("--seed", type=int, default=0, help="world and training seed")
    parser.add_argument(
        "--max-steps", type=int, default=None, help="override training steps per network"
    )
    parser.add_argument(
        "--dataroot", type=Path, help="real nuScenes dataroot: replay-evaluate it instead"
    )
    parser.add_argument("--version", default="v1.0-mini", help="nuScenes version of --dataroot")
    parser.add_argument("--checkpoint", type=Path, help="trained student for --dataroot")
    parser.add_argument("--skip-ros", action="store_true", help="stop after the offline steps")
    parser.add_argument(
        "--rig",
        choices=["front", "full"],
        default="front",
        help="front: CAM_FRONT + RADAR_FRONT as published (default); full: six cameras and "
        "five radars, one node, per-camera scores and a surround picture (OUT/rig_full)",
    )


def world_config(args: argparse.Namespace):
    """The SynthConfig of the chosen preset, with --scenes/--keyframes/--width/--height applied."""
    from lircdepth.synth import SynthConfig

    preset = PRESETS[args.preset]
    pick = {k: getattr(args, k) or getattr(preset, k) for k in ("scenes", "keyframes")}
    pick.update({k: getattr(args, k) or getattr(preset, k) for k in ("width", "height")})
    return SynthConfig(pick["scenes"], pick["keyframes"], args.seed, pick["width"], pick["height"])


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def make_world(config, out: Path) -> Path:
    """Generate the synthetic world (a SynthConfig) once, and its preview picture."""
    from lircdepth.synth import generate
    from lircdepth.synth.preview import render_preview

    root = out / "nuscenes"
    if not (root / "v1.0-mini" / "scene.json").exists():
        generate(root, config, workers=2)
    render_preview(root, "v1.0-mini", out / "preview.png")
    return root


# Preparing the synthetic world: 24 lidar sweeps each way (the published test-scene
# value) instead of 80, because accumulating is most of the cost. Measured on one scene
# (10 keyframes, loaded machine): 161 s with 80 sweeps, 115 s with 24; the accumulated
# map covers 62 % of the pixels instead of 67 %, the linear interpolation 88 % instead of
# 92 %. "nearest" densification would halve it again (59 s) but covers only 72 % (far
# road left unsupervised), so the published "linear" stays. Real nuScenes keeps 80.
SYNTH_ACCUMULATE_SWEEPS = 24


def prepare_world(dataroot: Path, version: str, out: Path, synthetic: bool = False) -> Path:
    """The derived dataset in `out/prepared`; `synthetic`: SYNTH_ACCUMULATE_SWEEPS sweeps."""
    from lircdepth.data.prepare import PrepareConfig, prepare

    prepared = out / "prepared"
    extra = {"accumulate_sweeps": SYNTH_ACCUMULATE_SWEEPS} if synthetic else {}
    prepare(PrepareConfig(dataroot=dataroot, version=version, out=prepared, workers=2, **extra))
    return prepared


@dataclass(frozen=True)
class TrainPlan:
    """How the three networks train: steps per network (None: argument file), seed, input."""

    steps: dict[str, int | None]
    seed: int | None = None
    input_size: tuple[int, int] | None = None  # (H, W), multiples of 32


def network_input(width: int, height: int) -> tuple[int, int]:
    """The evaluation window of a width x height frame: train on the same whole view."""
    return height - height % 32, width - width % 32


def train_networks(
    prepared: Path, out: Path, plan: TrainPlan, clock: StageClock | None = None
) -> dict[str, Path]:
    """Train what is not on disk yet, wave by wave (see demo_train); name -> best.pt."""
    from lircdepth.demo_train import train_side_by_side, validation_lines

    clock = clock or StageClock()
    checkpoints = {name: out / "runs" / name / "best.pt" for name in RUNS}
    for wave in WAVES:
        todo = {name: _run_options(name, prepared, out, plan, checkpoints) for name in wave}
        todo = {name: o for name, o in todo.items() if not checkpoints[name].exists()}
        if not todo:
            continue
        for name, options in todo.items():
            _step(
                f"train {name} ({RUNS[name][1]}): {options.max_steps} steps of "
                f"{options.batch_size} at {options.input_height}x{options.input_width}, "
                f"{options.num_threads} thread(s); log {out / 'logs' / f'train_{name}.log'}"
            )
        train_side_by_side(todo, out / "logs", clock)
        for name in todo:
            print("\n".join(f"{name}: {line}" for line in validation_lines(out / "logs", name)))
    return checkpoints


def _run_options(
    name: str, prepared: Path, out: Path, plan: TrainPlan, checkpoints: dict[str, Path]
) -> argparse.Namespace:
    from lircdepth.training.options import resolve_options

    mode, args_file = RUNS[name]
    overrides = {
        "data_path": str(prepared),
        "log_directory": str(out / "runs"),
        "model_name": name,
        "progress": False,
    }
    if mode == "student" and "nodistill" not in name:
        overrides["teacher_checkpoint"] = str(checkpoints["teacher"])
    if plan.steps.get(name) is not None:
        overrides["max_steps"] = plan.steps[name]
    if plan.seed is not None:
        overrides["seed"] = plan.seed
    if plan.input_size is not None:
        overrides["input_height"], overrides["input_width"] = plan.input_size
    return resolve_options(mode, shipped_file(f"training/args/{args_file}"), overrides)


def evaluate_networks(checkpoints: dict[str, Path], prepared: Path, out: Path) -> dict[str, dict]:
    from lircdepth.training.evaluate import evaluate_checkpoint

    results = {}
    for name, checkpoint in checkpoints.items():
        path = out / "eval" / f"{name}.json"
        if not path.exists():
            write_json_atomic(path, evaluate_checkpoint(checkpoint, prepared, split="test"))
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
    # Small synthetic frames are shown at least 384 px wide (nearest neighbour: no smoothing).
    scale = max(1, -(-384 // image.shape[1]))
    path = out / "panel.png"
    save_png(panel.repeat(scale, axis=0).repeat(scale, axis=1), path)
    return path


class RosReplay:
    """Node + online evaluator + player, each its own process, on one ROS domain.

    The extra arguments (node `-p` parameters, `bag evaluate` and `bag play` flags) are
    how `lircdepth.demo_rig` runs the six-camera node; `play_args` replaces `--to-node`.
    """

    def __init__(
        self,
        out: Path,
        checkpoint: Path,
        node_params: tuple[str, ...] = (),
        evaluate_args: tuple[str, ...] = (),
        play_args: tuple[str, ...] = ("--to-node",),
    ) -> None:
        self.out, self.checkpoint = out, checkpoint
        self.node_params, self.evaluate_args, self.play_args = node_params, evaluate_args, play_args
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
                *[arg for param in self.node_params for arg in ("-p", param)],
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
                *self.evaluate_args,
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
                    *self.play_args,
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


def write_report(
    out: Path, offline: dict[str, dict], online: dict[str, dict], clock: StageClock
) -> Path:
    from lircdepth.metrics import format_markdown

    lines = ["# LiRCDepth demo report", ""]
    if (out / "preview.png").exists():
        lines += ["## The world", "", "![keyframe with lidar and radar](preview.png)", ""]
    if (out / "panel.png").exists():
        lines += [
            "## A test frame (distilled student)",
            "",
            "image | radar | predicted depth | lidar | error (0-5 m)",
            "",
            "![panel](panel.png)",
            "",
        ]
    if offline or online:
        lines += ["## Test split, 0-80 m", "", results_table(offline, online), ""]
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
    if (out / "loss_curves.png").exists():
        lines += ["## Training curves", "", "![loss curves](loss_curves.png)", ""]
    if clock.stages:
        lines += ["## Time and machine use (this run; skipped stages are not listed)", ""]
        lines += [clock.markdown(), ""]
    lines += _latency_lines(out / "logs")
    report = out / "report.md"
    write_text_atomic(report, "\n".join(lines))
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


def offline_part(args: argparse.Namespace, out: Path, clock: StageClock) -> tuple:
    """Synthetic world -> prepare -> train -> evaluate -> export -> panel and curves."""
    config = world_config(args)
    preset = PRESETS[args.preset]
    steps = {name: args.max_steps or preset.steps(name) for name in RUNS}
    # The argument files' input is the presets' whole 64x128 window; other frame sizes
    # train on theirs.
    custom = args.width or args.height
    plan = TrainPlan(
        steps, args.seed, network_input(config.width, config.height) if custom else None
    )
    _step(
        f"synthetic nuScenes world ({args.preset}: {config.scenes} scenes x "
        f"{config.keyframes} keyframes at {config.width}x{config.height})"
    )
    with clock.stage("synthetic world"):
        dataroot = make_world(config, out)
    _step("prepare")
    with clock.stage("prepare"):
        prepared = prepare_world(dataroot, "v1.0-mini", out, synthetic=True)
    checkpoints = train_networks(prepared, out, plan, clock)
    _step("evaluate (offline, test split)")
    with clock.stage("evaluate"):
        offline = evaluate_networks(checkpoints, prepared, out)
    print(results_table(offline))
    _step("export ONNX")
    with clock.stage("export ONNX, panel, curves"):
        print(export_student(checkpoints["student"], out))
        sample_panel(checkpoints["student"], prepared, out)
        plot_curves({n: out / "runs" / n for n in RUNS}, out / "loss_curves.png")
    return dataroot, prepared, checkpoints["student"], offline


def results_table(offline: dict[str, dict], online: dict[str, dict] | None = None) -> str:
    """The networks' test-split metrics at 80 m as one Markdown table (the README's)."""
    from lircdepth.metrics import format_comparison_markdown

    named = {LABELS.get(n, n): r["metrics"] for n, r in offline.items()}
    for bag, results in (online or {}).items():
        named[f"distilled student replayed through `lircdepth_node` ({bag})"] = results["metrics"]
    return format_comparison_markdown(named, "80")


def run(args: argparse.Namespace) -> int:
    if args.rig == "full":
        from lircdepth.demo_rig import run_rig

        return run_rig(args)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    clock = StageClock()
    offline: dict[str, dict] = {}
    if args.dataroot:
        if not args.checkpoint:
            raise SystemExit("--dataroot needs --checkpoint (a trained student)")
        dataroot, version, prepared, student = args.dataroot, args.version, None, args.checkpoint
    else:
        version = "v1.0-mini"
        dataroot, prepared, student, offline = offline_part(args, out, clock)
    online = {}
    if not args.skip_ros:
        _step("ROS 2 replay: bag -> lircdepth_node -> online evaluation")
        with clock.stage("ROS 2 replay"):
            online = replay_scenes(dataroot, version, prepared, student, out)
    report = write_report(out, offline, online, clock)
    print(f"\n{clock.markdown()}\nreport: {report}")
    shutil.copy(report, out / "README.md")
    return 0
