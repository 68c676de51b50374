"""Score a network on a split of the derived dataset: one pass, metrics at each cap.

Used by periodic validation inside training (the model in memory) and by
`lircdepth evaluate` (a checkpoint on disk, teacher or student alike). The ground truth
is the single-scan lidar map (what the paper reports); the accumulated map can be scored
in the same pass (`GROUND_TRUTHS`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from lircdepth.errors import UsageError
from lircdepth.metrics import DEFAULT_CAPS, DepthMetricsAccumulator
from lircdepth.training.data import batches_of, build_eval_loader
from lircdepth.visualize import colorize, depth_panel, error_map, save_png

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# Dataset key -> how reports name it.
GROUND_TRUTHS = {
    "lidar_single": "single-scan lidar (the paper's ground truth)",
    "lidar_accum": "accumulated lidar",
}


def autocast(device: torch.device, amp: str):
    """Mixed precision context for `amp` in none|bf16|fp16 (fp16 only on CUDA)."""
    if amp == "none":
        return contextlib.nullcontext()
    if amp not in AMP_DTYPES:
        raise UsageError(f"--amp must be none, bf16 or fp16, got {amp!r}")
    if amp == "fp16" and device.type != "cuda":
        raise UsageError("--amp fp16 needs a CUDA device (use bf16 or none on CPU)")
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


@torch.no_grad()
def evaluate_model(
    model: torch.nn.Module,
    loader: DataLoader,
    device: torch.device,
    caps: Sequence[float] = DEFAULT_CAPS,
    amp: str = "none",
    png_dir: str | Path | None = None,
    max_depth: float = 80.0,
    progress: bool = False,
) -> tuple[dict, dict | None]:
    """(metrics per cap on single-scan lidar, the first image's tensors for a panel)."""
    by_truth, first = evaluate_model_on(
        model, loader, device, ("lidar_single",), caps, amp, png_dir, max_depth, progress
    )
    return by_truth["lidar_single"], first


@torch.no_grad()
def evaluate_model_on(
    model: torch.nn.Module,
    loader: DataLoader,
    device: torch.device,
    ground_truths: Sequence[str] = ("lidar_single",),
    caps: Sequence[float] = DEFAULT_CAPS,
    amp: str = "none",
    png_dir: str | Path | None = None,
    max_depth: float = 80.0,
    progress: bool = False,
) -> tuple[dict, dict | None]:
    """({ground truth: metrics per cap}, the first image's tensors for a panel) in one pass.

    `ground_truths`: keys of `GROUND_TRUTHS`. With `png_dir`, writes `<token>_depth.png`
    (colourised prediction) and `<token>_error.png` (|error| at single-scan lidar
    pixels, 0-5 m) for every image.
    """
    unknown = [name for name in ground_truths if name not in GROUND_TRUTHS]
    if unknown or not ground_truths:
        raise UsageError(
            f"ground truth must be among {', '.join(GROUND_TRUTHS)}, got {list(ground_truths)}"
        )
    was_training = model.training
    model.eval()
    accumulators = {name: DepthMetricsAccumulator(caps) for name in ground_truths}
    first = None
    folder = Path(png_dir) if png_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        with batches_of(loader) as batches:
            for batch in tqdm(
                batches, total=len(loader), desc="evaluate", unit="batch", disable=not progress
            ):
                image, radar, depth = _predict(model, batch, device, amp)
                for name, accumulator in accumulators.items():
                    accumulator.update(depth, batch[name])
                if first is None:
                    gt = batch["lidar_single"][0]
                    first = {"image": image[0], "radar": radar[0], "depth": depth[0], "gt": gt}
                if folder is not None:
                    _save_pngs(folder, batch["token"], depth, batch["lidar_single"], max_depth)
    finally:
        model.train(was_training)
    return {name: accumulator.compute() for name, accumulator in accumulators.items()}, first


def _predict(model: torch.nn.Module, batch: dict, device: torch.device, amp: str):
    """(image, radar, float32 depth) of one batch, on `device`."""
    image, radar = batch["image"].to(device), batch["radar"].to(device)
    with autocast(device, amp):
        return image, radar, model(image, radar).depth.float()


def panel_of(sample: dict, max_depth: float):
    """The TensorBoard panel (image, radar, prediction, ground truth) of one sample."""
    return depth_panel(sample["image"], sample["radar"], sample["depth"], sample["gt"], max_depth)


def _save_pngs(folder: Path, tokens, depth, ground_truth, max_depth: float) -> None:
    for token, pred, gt in zip(tokens, depth, ground_truth, strict=True):
        save_png(colorize(pred, max_depth), folder / f"{token}_depth.png")
        save_png(error_map(pred, gt), folder / f"{token}_error.png")


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_path: str | Path,
    split: str = "test",
    caps: Sequence[float] = DEFAULT_CAPS,
    device: str = "auto",
    amp: str = "none",
    png_dir: str | Path | None = None,
    workers: int = 0,
    max_images: int = 0,
    progress: bool = False,
    ground_truths: Sequence[str] = tuple(GROUND_TRUTHS),
) -> dict:
    """Load any checkpoint (teacher or student) and score it on `split` of `data_path`.

    "metrics" holds the single-scan lidar scores (the paper's); "metrics_by_ground_truth"
    every ground truth asked for, "ground_truths" names them.
    """
    from lircdepth.data import RadarCameraDataset
    from lircdepth.device import resolve_device
    from lircdepth.models.checkpoint import load_model

    torch_device = resolve_device(device)
    dataset = RadarCameraDataset(data_path, split, mode="eval")  # cheap checks first
    model, meta = load_model(checkpoint, torch_device)
    loader = build_eval_loader(dataset, workers, max_images)
    max_depth = float(getattr(model, "max_depth", max(caps)))
    by_truth, _ = evaluate_model_on(
        model,
        loader,
        torch_device,
        ground_truths,
        caps,
        amp,
        png_dir,
        max_depth=min(max_depth, max(caps)),
        progress=progress,
    )
    return {
        "checkpoint": str(checkpoint),
        "arch": meta.get("arch"),
        "global_step": meta.get("global_step"),
        "data": str(data_path),
        "split": split,
        "metrics": by_truth.get("lidar_single"),
        "metrics_by_ground_truth": by_truth,
        "ground_truths": {name: GROUND_TRUTHS[name] for name in by_truth},
    }
