"""`train --init_checkpoint FILE`: start a new run from another run's (or the authors') weights.

Only the network's weights are taken: the optimiser, schedule, step counter and RNG start
fresh (step 0), as for fine-tuning the published CaFNet with the single-scan term. The file
may be any checkpoint the project loads: a project `last.pt`/`best.pt` or one of the
authors' published LiRCDepth/CaFNet files (converted on the fly). Its network must be the
one the mode trains, with the same shape; anything else is one line naming the file.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
from typing import Any

from torch import nn

from lircdepth.training.options import TrainingSetupError

ARCH_NAMES = {"cafnet": "CaFNet (the teacher)", "lircdepth": "LiRCDepth (the student)"}


def read_init_checkpoint(path: str, arch: str) -> dict:
    """The project-format checkpoint in `path`, refused unless it holds an `arch` network."""
    from lircdepth.models.checkpoint import CheckpointError, load_checkpoint
    from lircdepth.models.published import convert_published, is_published_checkpoint

    try:
        checkpoint = load_checkpoint(path, map_location="cpu")
        if "arch" not in checkpoint and is_published_checkpoint(checkpoint):
            checkpoint = convert_published(checkpoint, source=path)
    except CheckpointError as error:
        raise TrainingSetupError(f"--init_checkpoint: {error}") from error
    found: Any = checkpoint.get("arch")  # unchecked: any value the file holds
    if found != arch:
        raise TrainingSetupError(
            f"--init_checkpoint {path} holds a {ARCH_NAMES.get(found, repr(found))} network; "
            f"this run trains {ARCH_NAMES[arch]}"
        )
    return checkpoint


def initial_model_config(checkpoint: dict, options: argparse.Namespace, path: str) -> dict:
    """The network options of the checkpoint, overridden by an explicit --model_config.

    --max_depth scales the network's output: a checkpoint trained for another range is
    refused rather than silently re-scaled. An option the checkpoint does not record was
    the network's default when it was saved, and stays so here. `pretrained` (ImageNet
    encoders) is off: the checkpoint replaces every weight."""
    stored = {**network_defaults(checkpoint["arch"]), **(checkpoint.get("model_config") or {})}
    depth = stored.get("max_depth")
    if depth is not None and float(depth) != float(options.max_depth):
        raise TrainingSetupError(
            f"--init_checkpoint {path} was trained with max_depth {depth:g}, this run has "
            f"--max_depth {options.max_depth:g}",
            hint=f"add --max_depth {depth:g}",
        )
    config = {**stored, "max_depth": options.max_depth, **options.model_config}
    if "pretrained" in config:  # every weight comes from the checkpoint: no ImageNet download
        config["pretrained"] = False
    return config


def network_defaults(arch: str) -> dict:
    """The keyword defaults of the network class `build_model(arch)` makes."""
    from lircdepth.models.registry import ARCHITECTURES

    module_name, class_name = ARCHITECTURES[arch]
    network = getattr(importlib.import_module(module_name), class_name)
    parameters = inspect.signature(network).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def load_initial_weights(model: nn.Module, checkpoint: dict, path: str) -> None:
    """Fill every weight of `model` from the checkpoint, or refuse naming what differs."""
    from lircdepth.models.checkpoint import CheckpointError, load_state_dict_strict

    try:
        load_state_dict_strict(model, checkpoint["model"], f"--init_checkpoint {path}")
    except CheckpointError as error:
        raise TrainingSetupError(
            str(error),
            hint="the checkpoint's network has other options than this run's "
            "--model_config (or another architecture)",
        ) from error
