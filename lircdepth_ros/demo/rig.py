"""`lircdepth demo --rig full`: the surround-view demo, end to end.

Full-rig synthetic world (six cameras, five radars, LIDAR_TOP) -> prepare every camera
with every radar -> a student (`--checkpoint`, else one trained briefly on the rig's
frames) -> offline evaluation per camera -> the test scene as a six-camera bag -> one
six-camera `lircdepth_node` fed by the lockstep player and scored by the online
evaluator, each in its own process -> a per-camera + rig table and the surround picture
in `OUT/rig_full/report.md`. Steps skip what is already on disk, as in `lircdepth.demo`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from lircdepth.atomic import write_json_atomic, write_text_atomic
from lircdepth.errors import UsageError
from lircdepth.metrics import DEFAULT_CAPS, HEADLINE_CAP, DepthMetricsAccumulator
from lircdepth.pipeline import network_input, step, test_scene_names
from lircdepth.resources import shipped_file
from lircdepth.stage_clock import StageClock
from lircdepth_ros.bag import convert_scenes
from lircdepth_ros.demo.replay import RosReplay

VERSION = "v1.0-mini"
DEPTH_TOPIC = "/{camera}/depth"
CAP = HEADLINE_CAP
RIG_ROW = "rig (all cameras)"


@dataclass(frozen=True)
class RigPreset:
    """World size, lidar sweeps accumulated by prepare and the student's training steps."""

    scenes: int
    keyframes: int
    width: int
    height: int
    sweeps: int
    student_steps: int


PRESETS = {
    "quick": RigPreset(3, 3, 192, 108, 10, 10),
    "default": RigPreset(6, 6, 192, 108, 24, 120),
    "full": RigPreset(12, 10, 192, 108, 80, 600),
}


def make_rig_world(args: argparse.Namespace, preset: RigPreset, out: Path) -> Path:
    """The full-rig synthetic world (once) and its six-camera preview."""
    from lircdepth.synth import SynthConfig, generate
    from lircdepth.synth.preview import render_rig_preview

    root = out / "nuscenes"
    if not (root / VERSION / "scene.json").exists():
        config = SynthConfig(
            args.scenes or preset.scenes,
            args.keyframes or preset.keyframes,
            args.seed,
            args.width or preset.width,
            args.height or preset.height,
            rig="full",
        )
        generate(root, config, workers=2)
    if not (out / "preview_rig.png").exists():
        render_rig_preview(root, VERSION, out / "preview_rig.png")
    return root


def prepare_rig(dataroot: Path, preset: RigPreset, out: Path) -> Path:
    from lircdepth.data.prepare import PrepareConfig, prepare
    from lircdepth.data.radar import RadarOptions
    from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS

    prepared = out / "prepared"
    config = PrepareConfig(
        dataroot=dataroot,
        version=VERSION,
        out=prepared,
        cameras=FULL_CAMERAS,
        workers=2,
        accumulate_sweeps=preset.sweeps,
        accumulate_sweeps_test=preset.sweeps,
        radar=RadarOptions(channels=FULL_RADARS, pairing="camera"),
    )
    prepare(config)
    return prepared


def train_rig_student(
    prepared: Path, out: Path, steps: int, seed: int, width: int, height: int, clock: StageClock
) -> Path:
    """The tiny student without distillation, trained on every camera's frames."""
    from lircdepth.training.options import resolve_options
    from lircdepth.training.trainer import train

    best = out / "runs" / "student_rig" / "best.pt"
    if not best.exists():
        overrides = {
            "data_path": str(prepared),
            "log_directory": str(out / "runs"),
            "model_name": "student_rig",
            "max_steps": steps,
            "seed": seed,
        }
        overrides["input_height"], overrides["input_width"] = network_input(width, height)
        args_file = shipped_file("training/args/student_synth_tiny_nodistill.txt")
        options = resolve_options("student", args_file, overrides)
        with clock.stage(f"train rig student: {steps} steps", images=steps * options.batch_size):
            train(options)
    return best


def evaluate_per_camera(checkpoint: Path, prepared: Path, scenes: set[str] | None = None) -> dict:
    """Test-split metrics per camera and for the rig, laid out as `RigScorer.results`.

    Runs the same estimator the node runs (torch backend) on the prepared frames of
    `scenes` (scene tokens; None: all), scored on the evaluation rows (top H mod 32
    dropped), so the numbers are what the online evaluator should find for them.
    """
    from lircdepth.data import RadarCameraDataset
    from lircdepth.data.augment import evaluation_window
    from lircdepth.inference import DepthEstimator

    dataset = RadarCameraDataset(prepared, "test", mode="eval")
    estimator = DepthEstimator.from_checkpoint(checkpoint, backend="torch", device="auto")
    accumulators: dict[str, DepthMetricsAccumulator] = {}
    counts: dict[str, int] = {}
    for index, record in enumerate(dataset.records):
        if scenes is not None and record["scene_token"] not in scenes:
            continue
        frame = dataset.load(index)
        depth = estimator.estimate(frame["image"], frame["radar_points"][:, :6]).depth
        dropped = evaluation_window(*depth.shape[:2]).top
        camera = record["camera"]
        accumulators.setdefault(camera, DepthMetricsAccumulator(DEFAULT_CAPS))
        accumulators[camera].update(depth[dropped:], frame["lidar_single"][dropped:])
        counts[camera] = counts.get(camera, 0) + 1
    rig = DepthMetricsAccumulator.merged(list(accumulators.values()))
    cameras = {
        c: {"metrics": a.compute(), "frames_scored": counts[c], "frames_expected": counts[c]}
        for c, a in accumulators.items()
    }
    return {
        "metrics": rig.compute(),
        "cameras": cameras,
        "frames_scored": sum(counts.values()),
        "frames_expected": sum(counts.values()),
        "cameras_silent": [],
    }


def rig_node_params(cameras: list[str], radars: list[str]) -> tuple[str, ...]:
    """The six-camera node on the bag's own topics (`bag convert` names), see docs/ros.md."""
    return (
        f"cameras:=[{', '.join(cameras)}]",
        f"radars:=[{', '.join(radars)}]",
        "topics.image:=/{camera}/image_rgb",
        "topics.camera_info:=/{camera}/camera_info",
        f"topics.depth:={DEPTH_TOPIC}",
        "topics.radar:=/{radar}",
        "backend:=torch",
        # Replayed frames wait for the radar sweep after them (the pairing of the first
        # frames, before the radar period is known), as offline pairing would.
        "sync.max_wait:=2.0",
    )


def replay_scene(dataroot: Path, prepared: Path) -> tuple[str, set[str]]:
    """The first test scene: its name and token (offline and online score its frames)."""

    name = test_scene_names(dataroot, VERSION, prepared)[0]
    tables = json.loads((dataroot / VERSION / "scene.json").read_text())
    return name, {s["token"] for s in tables if s["name"] == name}


def replay_rig(dataroot: Path, scene: str, checkpoint: Path, out: Path) -> dict:
    """The scene as a full-rig bag through the six-camera node; the online results."""
    from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS

    bag = out / "bags" / scene
    if not bag.exists():
        # Every radar point, as prepare keeps them (published: no devkit filters).
        convert_scenes(
            dataroot,
            VERSION,
            out / "bags",
            scenes=[scene],
            cameras=FULL_CAMERAS,
            radars=FULL_RADARS,
            radar_all_points=True,
        )
    replay = RosReplay(
        out,
        checkpoint,
        node_params=rig_node_params(list(FULL_CAMERAS), list(FULL_RADARS)),
        evaluate_args=("--depth-topic", DEPTH_TOPIC, "--surround", str(out / "surround.png")),
        play_args=("--depth-topic", DEPTH_TOPIC),
    )
    return replay.run(bag)


def comparison_markdown(offline: dict, online: dict | None) -> str:
    """Per camera and for the rig: frames and MAE / RMSE offline, and online when replayed."""
    names = [*offline["cameras"], RIG_ROW]
    header = ["camera", "frames", "MAE offline (m)", "RMSE offline (m)"]
    if online:
        header += ["frames online", "MAE online (m)", "RMSE online (m)"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]

    def entry(results: dict, name: str) -> dict:
        return results if name == RIG_ROW else results["cameras"].get(name, {})

    for name in names:
        cells = [name] + _cells(entry(offline, name))
        if online:
            cells += _cells(entry(online, name))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cells(results: dict) -> list[str]:
    values = results.get("metrics", {}).get(CAP, {})
    frames = f"{results.get('frames_scored', 0)}/{results.get('frames_expected', 0)}"
    numbers = [values.get(name) for name in ("mae", "rmse")]
    return [frames] + ["–" if v is None else f"{v:.3f}" for v in numbers]


def write_rig_report(
    out: Path,
    offline: dict,
    online: dict[str, dict],
    clock: StageClock,
    checkpoint: Path,
    scene: str,
) -> Path:
    lines = ["# LiRCDepth surround-view demo (six cameras, five radars)", ""]
    lines += [f"Student: `{checkpoint}`.", ""]
    if (out / "preview_rig.png").exists():
        lines += ["## The world", "", "![six cameras with lidar and radar](preview_rig.png)", ""]
    for bag, results in online.items():
        lines += [f"## Per camera and the whole rig, 0-{CAP} m (test scene {bag})", ""]
        lines += [comparison_markdown(offline, results), ""]
        silent = results.get("cameras_silent") or []
        if silent:
            lines += [f"No depth from: {', '.join(silent)}", ""]
    if not online:
        lines += [f"## Per camera and the whole rig, 0-{CAP} m (test scene {scene})", ""]
        lines += [comparison_markdown(offline, None), ""]
    lines += [
        "Offline: the estimator on the prepared test frames; online: `lircdepth_node` with "
        "six cameras replayed in lockstep, scored by `lircdepth bag evaluate` against the "
        "bag's lidar. The rig row averages over every frame of every camera.",
        "",
    ]
    if (out / "surround.png").exists():
        lines += [
            "## Surround view (the node's depth, first keyframe)",
            "",
            "![depth of every camera around a bird's-eye view](surround.png)",
            "",
        ]
    if clock.stages:
        lines += ["## Time and machine use (this run; skipped stages are not listed)", ""]
        lines += [clock.markdown(), ""]
    report = out / "report.md"
    write_text_atomic(report, "\n".join(lines))
    return report


def run_rig(args: argparse.Namespace) -> int:
    if args.dataroot:
        raise UsageError("--rig full runs on its own synthetic world; drop --dataroot")
    preset = PRESETS[args.preset]
    out = args.out.resolve() / "rig_full"
    out.mkdir(parents=True, exist_ok=True)
    clock = StageClock()
    step(
        f"full-rig synthetic world ({args.preset}: {preset.scenes} scenes x {preset.keyframes} keyframes)"
    )
    with clock.stage("synthetic world (full rig)"):
        dataroot = make_rig_world(args, preset, out)
    step("prepare: six cameras, five radars")
    with clock.stage("prepare (6 cameras, 5 radars)"):
        prepared = prepare_rig(dataroot, preset, out)
    steps = args.max_steps or preset.student_steps
    width, height = args.width or preset.width, args.height or preset.height
    checkpoint = args.checkpoint or train_rig_student(
        prepared, out, steps, args.seed, width, height, clock
    )
    scene, tokens = replay_scene(dataroot, prepared)
    step(f"evaluate offline per camera (test scene {scene})")
    with clock.stage("evaluate per camera"):
        offline = evaluate_per_camera(checkpoint, prepared, tokens)
    write_json_atomic(out / "eval" / "per_camera.json", offline)
    print(comparison_markdown(offline, None))
    online: dict[str, dict] = {}
    if not args.skip_ros:
        step("ROS 2 replay: six-camera bag -> lircdepth_node -> online evaluation per camera")
        with clock.stage("ROS 2 replay (6 cameras)"):
            online[scene] = replay_rig(dataroot, scene, checkpoint, out)
        print(comparison_markdown(offline, online[scene]))
    report = write_rig_report(out, offline, online, clock, checkpoint, scene)
    print(f"\n{clock.markdown()}\nreport: {report}")
    shutil.copy(report, out / "README.md")
    return 0
