"""The distillation ablation: teacher, distilled student and student without distillation,
trained with the same seed and steps, over several seeds; mean and spread of MAE / RMSE.

The paper's claim (feature and response distillation lower the student's MAE, 6.6 % on
nuScenes) is checked as: per seed, the distilled student against the student without
distillation trained from the same seed; the gain's mean and standard deviation over
seeds say whether it is larger than the seed-to-seed noise.

    lircdepth bench ablation [--seeds 0 1 2] [--out bench_out/ablation]
        [--dataroot NUSCENES --version v1.0-mini] [--prepared PREPARED]
        [--teacher-steps N --student-steps N]

Without --dataroot/--prepared it runs on the demo's default synthetic world.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lircdepth import pipeline
from lircdepth.baselines import evaluate_baselines
from lircdepth.console import show_notes
from lircdepth.metrics import HEADLINE_CAP
from lircdepth.stage_clock import StageClock

CAP = HEADLINE_CAP


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lircdepth bench ablation", description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("bench_out/ablation"))
    parser.add_argument("--dataroot", type=Path, help="nuScenes dataroot (default: synthetic)")
    parser.add_argument("--version", default="v1.0-mini", help="nuScenes version of --dataroot")
    parser.add_argument("--prepared", type=Path, help="an existing `lircdepth prepare` output")
    parser.add_argument("--teacher-steps", type=int, help="default: the argument file's")
    parser.add_argument("--student-steps", type=int, help="default: the argument file's")
    parser.add_argument(
        "--input", type=int, nargs=2, metavar=("H", "W"), help="training crop (multiples of 32)"
    )
    return parser.parse_args(argv)


def dataset(args: argparse.Namespace, out: Path) -> tuple[Path, tuple[int, int] | None]:
    """The prepared dataset to train on and the network input size to train at."""
    if args.prepared:
        return args.prepared, tuple(args.input) if args.input else None
    if args.dataroot:
        return pipeline.prepare_world(args.dataroot, args.version, out), (
            tuple(args.input) if args.input else None
        )
    config = pipeline.world_config(
        argparse.Namespace(
            preset="default", scenes=None, keyframes=None, width=None, height=None, seed=0
        )
    )
    dataroot = pipeline.make_world(config, out)
    size = tuple(args.input) if args.input else None  # None: the argument files' input
    return pipeline.prepare_world(dataroot, "v1.0-mini", out, synthetic=True), size


def run_seed(prepared: Path, out: Path, plan: pipeline.TrainPlan, clock: StageClock) -> dict:
    """{network: {"mae", "rmse"}} at the 80 m cap on the test split for one seed."""
    checkpoints = pipeline.train_networks(prepared, out, plan, clock)
    results = pipeline.evaluate_networks(checkpoints, prepared, out)
    return {name: {k: r["metrics"][CAP][k] for k in ("mae", "rmse")} for name, r in results.items()}


def summary(per_seed: dict[int, dict], baselines: dict[str, dict] | None = None) -> str:
    """Mean +- standard deviation over seeds per network, the trivial baselines (the
    same for every seed: no training), and the distillation gain."""

    def spread(values: list[float]) -> str:
        return f"{np.mean(values):.3f} ± {np.std(values, ddof=1 if len(values) > 1 else 0):.3f}"

    seeds = sorted(per_seed)
    lines = [
        f"| network (0-{CAP} m, {len(seeds)} seeds) | MAE m | RMSE m | MAE per seed |",
        "|---|---:|---:|---|",
    ]
    for name in pipeline.RUNS:
        mae = [per_seed[s][name]["mae"] for s in seeds]
        rmse = [per_seed[s][name]["rmse"] for s in seeds]
        per = ", ".join(f"{v:.2f}" for v in mae)
        lines.append(f"| {pipeline.LABELS[name]} | {spread(mae)} | {spread(rmse)} | {per} |")
    for name, result in (baselines or {}).items():
        scores = result["metrics"][CAP]
        lines.append(
            f"| {pipeline.LABELS[name]} | {scores['mae']:.3f} | {scores['rmse']:.3f} | "
            "(no training: every seed) |"
        )
    gain = [
        100 * (1 - per_seed[s]["student"]["mae"] / per_seed[s]["student_nodistill"]["mae"])
        for s in seeds
    ]
    lines += ["", f"distillation lowers the student's MAE by {spread(gain)} % (paper: 6.6 %)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    show_notes("lircdepth.pipeline")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    prepared, input_size = dataset(args, out)
    steps = {
        name: args.teacher_steps if mode == "teacher" else args.student_steps
        for name, (mode, _) in pipeline.RUNS.items()
    }
    clock = StageClock()
    per_seed = {
        seed: run_seed(
            prepared, out / f"seed_{seed}", pipeline.TrainPlan(steps, seed, input_size), clock
        )
        for seed in args.seeds
    }
    baselines = evaluate_baselines(prepared, split="test")
    (out / "ablation.json").write_text(json.dumps({**per_seed, "baselines": baselines}, indent=2))
    print(summary(per_seed, baselines))
    print(f"\n{clock.markdown()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
