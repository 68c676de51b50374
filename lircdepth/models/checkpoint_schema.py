"""What a checkpoint must hold before a network is built from it, checked in one place.

`arch` a known name, `model_config` an object of in-range values, `model` a mapping of
names to tensors whose floating-point values are all finite. Every problem raises
CheckpointError naming the file and the first bad entry, so evaluate, export, the
estimator and the ROS node refuse a damaged file at load, before any number comes out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from lircdepth.errors import BadValueError
from lircdepth.geometry import RADAR_CHANNELS

from .checkpoint_errors import CheckpointError

# model_config key -> (check, wanted); keys the networks do not take are refused by build_model.
_CONFIG_RULES = {
    "max_depth": (lambda v: _is_number(v) and 0 < v < math.inf, "a finite number above 0"),
    "radar_channels": (
        lambda v: _is_int(v) and v == len(RADAR_CHANNELS),
        f"{len(RADAR_CHANNELS)} (the radar map's {', '.join(RADAR_CHANNELS)})",
    ),
    "confidence_threshold": (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "num_features": (lambda v: _is_int(v) and v >= 32 and v % 32 == 0, "a multiple of 32"),
    "feature_distill": (lambda v: isinstance(v, bool), "true or false"),
    "pretrained": (lambda v: isinstance(v, bool), "true or false"),
}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_model_config(config: object, source: str = "--model_config") -> dict:
    """`config` as a dict of in-range values; BadValueError names `source` and the key."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise BadValueError(f"{source} must be an object, got {type(config).__name__}")
    for key, value in config.items():
        check, wanted = _CONFIG_RULES.get(key, (None, None))
        if check is not None and not check(value):
            raise BadValueError(f"{source}: {key} must be {wanted}, got {value!r}")
    return dict(config)


def first_bad_tensor(state_dict: Mapping) -> str | None:
    """'name: why' of the first entry that is not a tensor or holds NaN / infinity."""
    for name, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            return f"{name} is of type {type(value).__name__}, not a tensor"
        if value.is_floating_point() or value.is_complex():
            finite = torch.isfinite(value)
            if not bool(finite.all()):
                bad = int((~finite).sum())
                kind = "NaN" if bool(torch.isnan(value).any()) else "infinite"
                return f"{name} has {bad} {kind} value(s) of {value.numel()}"
    return None


def check_checkpoint_entries(checkpoint: Mapping, source: str) -> None:
    """The checkpoint's own entries (before building): arch and model_config."""

    arch = checkpoint.get("arch")
    if "arch" in checkpoint and not isinstance(arch, str):
        raise CheckpointError(f"{source}: 'arch' must be a network name, got {arch!r:.80}")
    try:
        check_model_config(checkpoint.get("model_config"), f"{source}: model_config")
    except BadValueError as error:
        raise CheckpointError(str(error)) from error


def check_weights(weights: object, source: str) -> None:
    """CheckpointError unless `weights` maps names to tensors of finite numbers."""

    if not isinstance(weights, Mapping):
        raise CheckpointError(
            f"{source}: 'model' must map weight names to tensors, got {type(weights).__name__}"
        )
    bad = first_bad_tensor(weights)
    if bad is not None:
        raise CheckpointError(f"{source}: weight {bad}; refusing to use it")
