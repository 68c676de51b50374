"""Loss and validation curves of finished runs, read back from their TensorBoard logs.

The demo and the ablation benchmark show how training went without a TensorBoard
server: one PNG with the training loss and the validation MAE of every run.
"""

from __future__ import annotations

from pathlib import Path

from lircdepth.atomic import atomic_path

LOSS_TAG = "train/total"
VAL_TAG = "val/80m/mae"


def read_scalars(run_dir: Path, tag: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one scalar of the run in `run_dir` (empty when never logged)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(Path(run_dir) / "tensorboard"), size_guidance={"scalars": 0})
    accumulator.Reload()
    if tag not in accumulator.Tags()["scalars"]:
        return [], []
    events = accumulator.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


def plot_curves(run_dirs: dict[str, Path], path: Path) -> Path:
    """Training loss (log scale) and validation MAE at 80 m of each named run, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axes, val_axes) = plt.subplots(1, 2, figsize=(11, 4))
    for name, run_dir in run_dirs.items():
        steps, values = read_scalars(run_dir, LOSS_TAG)
        loss_axes.plot(steps, values, label=name)
        steps, values = read_scalars(run_dir, VAL_TAG)
        val_axes.plot(steps, values, marker="o", label=name)
    loss_axes.set(title="training loss", xlabel="step", yscale="log")
    val_axes.set(title="validation MAE, 0-80 m", xlabel="step", ylabel="m")
    for axes in (loss_axes, val_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    with atomic_path(path) as temp:
        figure.savefig(temp, dpi=100, format="png")
    plt.close(figure)
    return path
