"""`lircdepth predict` over a synthetic dataroot: frames per second with and without writing
the outputs, and the resume pass (every frame complete: nothing is loaded or run).

    lircdepth bench predict [--scenes 2 --keyframes 4 --width 704 --height 388
                            --backend auto --device cpu --checkpoint CKPT]

Without --checkpoint a randomly initialised student is used (speed does not depend on
the weights). Runs the same job list three times: no outputs, outputs (PNG + npy), rerun.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from lircdepth.bench.options import world_parser
from lircdepth.data.radar import RadarOptions
from lircdepth.inference.estimator import DepthEstimator
from lircdepth.models import build_model
from lircdepth.models.checkpoint import save_checkpoint
from lircdepth.predict.nuscenes_source import NuScenesFrames
from lircdepth.predict.outputs import OutputOptions
from lircdepth.predict.runner import predict_frames
from lircdepth.synth import SynthConfig, generate


def main(argv: list[str] | None = None) -> int:
    parser = world_parser(__doc__)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = SynthConfig(
            scenes=args.scenes,
            keyframes=args.keyframes,
            seed=3,
            width=args.width,
            height=args.height,
            camera_sweeps=False,
        )
        generate(tmp / "root", config)
        checkpoint: str | Path | None = args.checkpoint
        if checkpoint is None:
            checkpoint = tmp / "student.pt"
            model = build_model("lircdepth")
            save_checkpoint(
                checkpoint,
                {
                    "arch": "lircdepth",
                    "model_config": {},
                    "model": model.state_dict(),
                    "global_step": 0,
                },
            )
        estimator = DepthEstimator.from_checkpoint(
            checkpoint, device=args.device, backend=args.backend
        )
        jobs = NuScenesFrames(tmp / "root", "v1.0-mini", ["CAM_FRONT"], RadarOptions()).jobs()
        batch = 8 if estimator.device.type == "cuda" else 1
        load = jobs[0].load
        assert load is not None  # NuScenesFrames' jobs load their frame
        estimator.estimate_batch([(f.image, f.radar_points) for f in [load()]])  # warm-up
        rows = {}
        for label, out in (
            ("no outputs", None),
            ("PNG + npy", tmp / "out"),
            ("resume", tmp / "out"),
        ):
            summary = predict_frames(
                estimator, jobs, out, OutputOptions(), batch_size=batch, progress=False
            )
            rows[label] = {
                "frames": summary["frames"],
                "predicted": summary["predicted"],
                "seconds": round(summary["seconds"], 3),
                "fps": round(summary["frames"] / summary["seconds"], 3),
                "by_stage": {k: round(v, 3) for k, v in summary["seconds_by_stage"].items()},
            }
        print(
            f"{estimator.backend_name} on {estimator.device}, {len(jobs)} frames "
            f"{args.width}x{args.height}, batch {batch}"
        )
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
