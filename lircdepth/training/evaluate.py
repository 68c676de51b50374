"""Score a network on a split of the derived dataset: one pass, metrics at each cap.

Used by periodic validation inside training (the model in memory) and by
`lircdepth evaluate` (a checkpoint on disk, teacher or student alike).
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
from lircdepth.training.visualize import colorize, depth_panel, error_map, save_png

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


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
    """(metrics per cap, the first image's tensors for a panel) over `loader`.

    With `png_dir`, writes `<token>_depth.png` (colourised prediction) and
    `<token>_error.png` (|error| at ground-truth pixels, 0-5 m) for every image.
    """
    was_training = model.training
    model.eval()
    accumulator = DepthMetricsAccumulator(caps)
    first = None
    if png_dir is not None:
        Path(png_dir).mkdir(parents=True, exist_ok=True)
    try:
        for batch in tqdm(loader, desc="evaluate", unit="batch", disable=not progress):
            image, radar = batch["image"].to(device), batch["radar"].to(device)
            with autocast(device, amp):
                depth = model(image, radar).depth.float()
            ground_truth = batch["lidar_single"]
            accumulator.update(depth, ground_truth)
            if first is None:
                first = {
                    "image": image[0],
                    "radar": radar[0],
                    "depth": depth[0],
                    "gt": ground_truth[0],
                }
            if png_dir is not None:
                _save_pngs(Path(png_dir), batch["token"], depth, ground_truth, max_depth)
    finally:
        model.train(was_training)
    return accumulator.compute(), first


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
) -> dict:
    """Load any checkpoint (teacher or student) and score it on `split` of `data_path`."""
    from lircdepth.data import RadarCameraDataset
    from lircdepth.models.checkpoint import load_model
    from lircdepth.training.data import build_eval_loader
    from lircdepth.training.distributed import resolve_device

    torch_device = resolve_device(device)
    model, meta = load_model(checkpoint, torch_device)
    dataset = RadarCameraDataset(data_path, split, mode="eval")
    loader = build_eval_loader(dataset, workers, max_images)
    max_depth = float(getattr(model, "max_depth", max(caps)))
    metrics, _ = evaluate_model(
        model,
        loader,
        torch_device,
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
        "metrics": metrics,
    }
