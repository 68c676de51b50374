"""What a training run reports: tqdm progress on the console, TensorBoard on disk, and
`progress.json` (step, total, loss, images/s at each logging step) for a supervisor that
runs trainings as child processes (`training.side_by_side`) to show their bars.

Only rank 0 reports; other ranks get a logger with `enabled=False` that does nothing.
TensorBoard holds `train/<loss term>` for every term, `train/lr_<group>`,
`train/images_per_second`, `val/<cap>m/<metric>`, and image panels (image, radar,
prediction, ground truth, colourised) under `train/panel` and `val/panel`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from lircdepth.atomic import write_json_atomic

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

PROGRESS_FILE = "progress.json"


class TrainingLogger:
    def __init__(
        self,
        run_dir: Path,
        enabled: bool,
        total_steps: int,
        initial_step: int,
        progress: bool,
        batch_images: int,
    ) -> None:
        self.enabled = enabled
        self.batch_images = batch_images
        self.progress_path = run_dir / PROGRESS_FILE
        self.total_steps = total_steps
        self.writer: SummaryWriter | None = None
        self.bar: tqdm | None = None
        self._last_time = time.perf_counter()
        self._last_step = initial_step
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(
            log_dir=str(run_dir / "tensorboard"), purge_step=initial_step or None
        )
        self.bar = tqdm(
            total=total_steps,
            initial=initial_step,
            disable=not progress,
            unit="step",
            dynamic_ncols=True,
        )

    def step(
        self,
        global_step: int,
        loss: float,
        terms: dict[str, float] | None,
        learning_rates: dict[str, float],
    ):
        """Advance the bar; with `terms` (a logging step) also write the scalars."""
        if self.bar is None or self.writer is None:  # not enabled
            return
        self.bar.update(1)
        if terms is None:
            return
        now = time.perf_counter()
        images_per_second = (
            (global_step - self._last_step) * self.batch_images / max(now - self._last_time, 1e-9)
        )
        self._last_time, self._last_step = now, global_step
        self.bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{images_per_second:.2f}")
        write_json_atomic(
            self.progress_path,
            {"step": global_step, "total": self.total_steps, "loss": loss}
            | {"images_per_second": images_per_second},
        )
        for name, value in terms.items():
            self.writer.add_scalar(f"train/{name}", value, global_step)
        for name, value in learning_rates.items():
            self.writer.add_scalar(f"train/lr_{name}", value, global_step)
        self.writer.add_scalar("train/images_per_second", images_per_second, global_step)

    def panel(self, tag: str, rgb: np.ndarray, global_step: int) -> None:
        if self.writer is not None:  # enabled
            self.writer.add_image(tag, rgb, global_step, dataformats="HWC")

    def validation(self, global_step: int, results: dict[str, dict[str, float]]) -> None:
        if self.writer is None:  # not enabled
            return
        for cap, entry in results.items():
            for name, value in entry.items():
                self.writer.add_scalar(f"val/{cap}m/{name}", value, global_step)
        self.writer.flush()

    def message(self, text: str) -> None:
        if self.enabled:
            tqdm.write(text)

    def close(self) -> None:
        if self.bar is not None and self.writer is not None:  # enabled
            self.bar.close()
            self.writer.close()
