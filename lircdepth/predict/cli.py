"""Depth for your own data (image + radar files, a nuScenes dataroot or ROS 2 bags), per frame.

`lircdepth predict --checkpoint CKPT --out OUT` and one input:

    --images IMG|DIR --radar FILE|DIR --calibration calib.yaml   image and radar files
    --dataroot DIR --version V [--scenes ...|--split S] [--sweeps]  a nuScenes dataroot
    --bag BAG [BAG ...]                                            ROS 2 bags (any layout)

Per frame: OUT/<name>.png (uint16 millimetres, 0 = no value), .npy (float32 metres),
optionally _color.png and _uncertainty.npy, and a record <name>.json; OUT/predict_summary.json
for the run. Names map back to the input: the image's path, <CAMERA>/<sample_data token>,
or <bag>/<CAMERA>/<header stamp ns>. A rerun skips finished frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lircdepth.argtypes import non_negative_int
from lircdepth.errors import UsageError
from lircdepth.predict.outputs import PNG_UNITS
from lircdepth.predict.runner import ON_ERROR

DEFAULT_RADARS = ("RADAR_FRONT",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n", 2)[2]
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="any checkpoint the project loads "
        "(a `train` checkpoint or the authors' published file)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (resumable)")
    files = parser.add_argument_group("image and radar files")
    files.add_argument("--images", type=Path, help="an image (jpg/png) or a folder of them")
    files.add_argument(
        "--radar",
        type=Path,
        help="radar file (.pcd/.npy/.csv: x, y, z, rcs, "
        "vx, vy) or a folder with <image name>.<suffix> per image",
    )
    files.add_argument(
        "--calibration",
        type=Path,
        help="YAML: camera_info (k, width, height) and extrinsic "
        "(translation, rotation_xyzw: T_camera_from_radar)",
    )
    files.add_argument(
        "--radar-frame",
        choices=("radar", "camera"),
        default="radar",
        help="the radar points are in the radar frame (default; moved by the "
        "extrinsic) or already in the camera frame",
    )
    nusc = parser.add_argument_group("nuScenes dataroot")
    nusc.add_argument("--dataroot", type=Path, help="nuScenes dataroot")
    nusc.add_argument("--version", default="v1.0-mini", help="table folder (v1.0-trainval, ...)")
    nusc.add_argument("--scenes", nargs="+", default=None, help="scene names or tokens")
    nusc.add_argument(
        "--split",
        default=None,
        help="train/val/test as `prepare` assigns them, or a devkit split (mini_val, ...)",
    )
    nusc.add_argument(
        "--radar-pairing",
        choices=("keyframe", "camera"),
        default="keyframe",
        help="keyframes get the sample's radar sweeps (keyframe, as `prepare` by "
        "default) or each radar's sweep nearest to the image (camera, as the node "
        "and bags pair them); camera sweeps always pair by time",
    )
    nusc.add_argument(
        "--sweeps", action="store_true", help="every camera image, not only the keyframes"
    )
    bag = parser.add_argument_group("ROS 2 bags")
    bag.add_argument("--bag", type=Path, nargs="+", help="bag folder(s), MCAP or sqlite3")
    bag.add_argument(
        "--keyframes",
        action="store_true",
        help="only the keyframes (a lidar sweep and the images taken with it; "
        "found from the stamps when the bag has no keyframe table)",
    )
    bag.add_argument(
        "--fixed-frame",
        default="map",
        help="bags: frame through which radar (at its stamp) reaches the camera "
        "(at the image's stamp); '' = at the image stamp only",
    )
    sensors = parser.add_argument_group("sensors (dataroot and bags)")
    sensors.add_argument(
        "--cameras",
        nargs="+",
        default=["CAM_FRONT"],
        metavar="CAM",
        help="camera channels, or 'all' (default CAM_FRONT)",
    )
    sensors.add_argument(
        "--radars",
        nargs="+",
        default=list(DEFAULT_RADARS),
        metavar="RADAR",
        help="radar channels projected into each camera, or 'all'",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--backend",
        default="auto",
        help="auto | torch | compile | onnxruntime | openvino | tensorrt",
    )
    model.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    model.add_argument(
        "--batch-size",
        type=non_negative_int,
        default=0,
        help="frames per forward (0: 8 on a GPU, 1 on the CPU)",
    )
    output = parser.add_argument_group("outputs")
    output.add_argument(
        "--color", "--colour", dest="color", action="store_true", help="also write <name>_color.png"
    )
    output.add_argument(
        "--uncertainty",
        action="store_true",
        help="also write <name>_uncertainty.npy (teacher checkpoints)",
    )
    output.add_argument("--no-npy", action="store_true", help="do not write the .npy depth")
    output.add_argument(
        "--png-units",
        choices=tuple(PNG_UNITS),
        default="mm",
        help="16-bit PNG scale: mm (default, up to 65.535 m) or kitti256 "
        "(metres x 256, the derived dataset's maps)",
    )
    output.add_argument(
        "--on-error",
        choices=ON_ERROR,
        default="stop",
        help="stop at the first frame with bad inputs, or skip and list it",
    )
    output.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def input_kind(args: argparse.Namespace) -> str:
    """Which one input is given: files, dataroot or bag (usage error otherwise)."""
    given = [
        kind
        for kind, flag in (("files", args.images), ("dataroot", args.dataroot), ("bag", args.bag))
        if flag is not None
    ]
    if len(given) != 1:
        raise UsageError(
            "give one input: --images (with --radar and --calibration), --dataroot or --bag"
        )
    if given[0] == "files" and (args.radar is None or args.calibration is None):
        raise UsageError("--images needs --radar and --calibration")
    if args.scenes and args.split:
        raise UsageError("give --scenes or --split, not both")
    return given[0]


def build_jobs(args: argparse.Namespace, kind: str):
    if kind == "files":
        from lircdepth.predict.calibration import read_calibration
        from lircdepth.predict.files_source import file_jobs

        calibration = read_calibration(args.calibration)
        return file_jobs(args.images, args.radar, calibration, args.radar_frame)
    if kind == "dataroot":
        from lircdepth.data.radar import RadarOptions
        from lircdepth.predict.nuscenes_source import NuScenesFrames

        frames = NuScenesFrames(
            args.dataroot,
            args.version,
            args.cameras,
            RadarOptions(channels=tuple(args.radars), pairing=args.radar_pairing),
        )
        return frames.jobs(args.scenes, args.split, args.sweeps)
    from lircdepth.predict.bag_source import bag_jobs

    return bag_jobs(args.bag, args.cameras, args.radars, args.keyframes, args.fixed_frame)


def run(args: argparse.Namespace) -> int:
    from lircdepth.inference.estimator import DepthEstimator
    from lircdepth.output_folder import output_folder
    from lircdepth.predict.outputs import OutputOptions
    from lircdepth.predict.runner import SUMMARY_FILE, predict_frames

    kind = input_kind(args)
    if not Path(args.checkpoint).is_file():
        raise UsageError(f"--checkpoint {args.checkpoint} does not exist")
    jobs = build_jobs(args, kind)
    if not jobs:
        raise UsageError(f"the {kind} input holds no frame to predict")
    with output_folder(args.out, "lircdepth predict") as out:
        estimator = DepthEstimator.from_checkpoint(
            args.checkpoint, device=args.device, backend=args.backend
        )
        batch = args.batch_size or (8 if estimator.device.type == "cuda" else 1)
        options = OutputOptions(
            npy=not args.no_npy,
            color=args.color,
            uncertainty=args.uncertainty,
            png_units=args.png_units,
        )
        summary = predict_frames(
            estimator,
            jobs,
            out,
            options,
            batch_size=batch,
            on_error=args.on_error,
            progress=not args.no_progress,
            summary={"input": kind, "checkpoint": str(Path(args.checkpoint).resolve())},
        )
    failed = summary["failed"]
    print(
        f"predicted {summary['predicted']} frame(s), {summary['already_complete']} already "
        f"complete, {len(failed)} failed, in {summary['seconds']:.1f} s "
        f"({estimator.backend_name} on {estimator.device}); summary: {out / SUMMARY_FILE}"
    )
    for entry in failed:
        print(f"failed {entry['name']}: {entry['error']}")
    # --on-error skip: the run succeeds when any frame has its depth; none at all is a failure.
    done = summary["predicted"] + summary["already_complete"]
    return 1 if failed and done == 0 else 0
