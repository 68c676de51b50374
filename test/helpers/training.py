"""Training runs that take seconds: a tiny input, one image per validation, no workers."""

from __future__ import annotations

from pathlib import Path

# What every tiny run shares; each test module adds its steps and checkpoint frequencies.
TINY = {
    "input_height": 64,
    "input_width": 128,
    "batch_size": 2,
    "workers": 0,
    "num_threads": 1,
    "eval_freq": 0,
    "max_val_images": 1,
    "progress": False,
}
# The student's distillation terms off: a student without a teacher checkpoint.
NO_DISTILL = {
    "w_image_feature_distill": 0.0,
    "w_radar_feature_distill": 0.0,
    "w_pairwise_distill": 0.0,
    "w_inter_depth_distill": 0.0,
}


def tiny_runs(**steps):
    """`options(mode, prepared_root, log_directory, **overrides)` -> the resolved options of a
    tiny `mode` run on `prepared_root`: TINY, then a module's `steps`, then `overrides`."""
    from lircdepth.training.options import resolve_options

    def options(mode: str, prepared_root: Path, log_directory: Path, **overrides):
        paths = {"data_path": str(prepared_root), "log_directory": str(log_directory)}
        return resolve_options(mode, overrides={**TINY, **steps, **paths, **overrides})

    return options
