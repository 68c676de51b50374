"""The offline pipeline of the demo and the ablation bench: synthetic world -> prepare ->
train the teacher and both students -> evaluate -> export -> sample panel.

ROS-free: the demo command (`lircdepth_ros.demo`) adds the ROS replay and the report.
Every step skips work already on disk (delete a step's folder to redo it).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lircdepth.atomic import write_json_atomic
from lircdepth.baselines import BASELINES, evaluate_baselines
from lircdepth.metrics import HEADLINE_CAP
from lircdepth.resources import shipped_file
from lircdepth.stage_clock import StageClock
from lircdepth.training.curves import plot_curves
from lircdepth.visualize import colorize, error_map, save_png

LOG = logging.getLogger(__name__)

RUNS = {
    "teacher": ("teacher", "teacher_synth_tiny.txt"),
    "student": ("student", "student_synth_tiny.txt"),
    "student_nodistill": ("student", "student_synth_tiny_nodistill.txt"),
}
# The distilled student needs the teacher's best.pt, so the teacher trains first, alone,
# with 2 threads; then both students train side by side, one core each, so that they
# differ only by distillation (same thread count, same load). On a machine shared with
# other jobs set OMP_WAIT_POLICY=PASSIVE (docs/experiments.md, "The demo pipeline").
WAVES = (("teacher",), ("student", "student_nodistill"))
LABELS = {
    "teacher": "teacher CaFNet",
    "student": "student, distilled",
    "student_nodistill": "student, no distillation",
    **BASELINES,
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
# evaluation alike: every network sees the whole frame, road gradient included, and it
# is cheaper than crops of larger frames (docs/experiments.md, "The demo pipeline").
PRESETS = {
    "quick": Preset(6, 4, 128, 72, 10, 10),
    "default": Preset(24, 10, 128, 72, None, None),
    "full": Preset(48, 10, 128, 72, 1500, 1000),
}


def world_config(args: argparse.Namespace):
    """The SynthConfig of the chosen preset, with --scenes/--keyframes/--width/--height applied."""
    from lircdepth.synth import SynthConfig

    preset = PRESETS[args.preset]
    pick = {k: getattr(args, k) or getattr(preset, k) for k in ("scenes", "keyframes")}
    pick.update({k: getattr(args, k) or getattr(preset, k) for k in ("width", "height")})
    return SynthConfig(pick["scenes"], pick["keyframes"], args.seed, pick["width"], pick["height"])


def step(title: str) -> None:
    """A stage's banner in the command's output (logger `lircdepth.pipeline`)."""
    LOG.info("\n== %s", title)


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
# value) instead of 80, because accumulating is most of the cost; "linear" densification
# stays (docs/experiments.md, "The demo pipeline"). Real nuScenes keeps 80.
SYNTH_ACCUMULATE_SWEEPS = 24


def prepare_world(dataroot: Path, version: str, out: Path, synthetic: bool = False) -> Path:
    """The derived dataset in `out/prepared`; `synthetic`: SYNTH_ACCUMULATE_SWEEPS sweeps."""
    from lircdepth.data.prepare import PrepareConfig, prepare

    prepared = out / "prepared"
    extra: dict[str, Any] = {"accumulate_sweeps": SYNTH_ACCUMULATE_SWEEPS} if synthetic else {}
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
    """Train what is not on disk yet, wave by wave (see training.side_by_side); name -> best.pt."""
    from lircdepth.training.side_by_side import train_side_by_side, validation_lines

    clock = clock or StageClock()
    checkpoints = {name: out / "runs" / name / "best.pt" for name in RUNS}
    for wave in WAVES:
        todo = {name: _run_options(name, prepared, out, plan, checkpoints) for name in wave}
        todo = {name: o for name, o in todo.items() if not checkpoints[name].exists()}
        if not todo:
            continue
        for name, options in todo.items():
            step(
                f"train {name} ({RUNS[name][1]}): {options.max_steps} steps of "
                f"{options.batch_size} at {options.input_height}x{options.input_width}, "
                f"{options.num_threads} thread(s); log {out / 'logs' / f'train_{name}.log'}"
            )
        train_side_by_side(todo, out / "logs", clock)
        for name in todo:
            LOG.info(
                "%s", "\n".join(f"{name}: {line}" for line in validation_lines(out / "logs", name))
            )
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


def evaluate_baselines_cached(prepared: Path, out: Path) -> dict[str, dict]:
    """The trivial baselines on the test split (`lircdepth.baselines`), kept in eval/."""
    path = out / "eval" / "baselines.json"
    if not path.exists():
        write_json_atomic(path, evaluate_baselines(prepared, split="test"))
    return json.loads(path.read_text())


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


def test_scene_names(dataroot: Path, version: str, prepared: Path) -> list[str]:
    tokens = {
        json.loads(line)["scene_token"]
        for line in (prepared / "index" / "test.txt").read_text().splitlines()
    }
    scenes = json.loads((dataroot / version / "scene.json").read_text())
    return sorted(s["name"] for s in scenes if s["token"] in tokens)


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
    step(
        f"synthetic nuScenes world ({args.preset}: {config.scenes} scenes x "
        f"{config.keyframes} keyframes at {config.width}x{config.height})"
    )
    with clock.stage("synthetic world"):
        dataroot = make_world(config, out)
    step("prepare")
    with clock.stage("prepare"):
        prepared = prepare_world(dataroot, "v1.0-mini", out, synthetic=True)
    checkpoints = train_networks(prepared, out, plan, clock)
    step("evaluate (offline, test split)")
    with clock.stage("evaluate"):
        offline = evaluate_networks(checkpoints, prepared, out)
        offline |= evaluate_baselines_cached(prepared, out)
    LOG.info("%s", results_table(offline))
    step("export ONNX")
    with clock.stage("export ONNX, panel, curves"):
        LOG.info("%s", export_student(checkpoints["student"], out))
        sample_panel(checkpoints["student"], prepared, out)
        plot_curves({n: out / "runs" / n for n in RUNS}, out / "loss_curves.png")
    return dataroot, prepared, checkpoints["student"], offline


def results_table(offline: dict[str, dict], online: dict[str, dict] | None = None) -> str:
    """The networks' (and baselines') test-split metrics at 80 m as one Markdown table."""
    from lircdepth.metrics import format_comparison_markdown

    named = {LABELS.get(n, n): r["metrics"] for n, r in offline.items()}
    for bag, results in (online or {}).items():
        named[f"distilled student replayed through `lircdepth_node` ({bag})"] = results["metrics"]
    return format_comparison_markdown(named, HEADLINE_CAP)
