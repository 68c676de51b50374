"""Build either network by name, as checkpoints record it (`arch` + `model_config`)."""

from __future__ import annotations

import importlib

from torch import nn

from lircdepth.errors import BadValueError

from .checkpoint_schema import check_model_config

# arch -> (module, class); imported on demand so a missing network breaks only its own name.
ARCHITECTURES: dict[str, tuple[str, str]] = {
    "lircdepth": ("lircdepth.models.student", "LiRCDepth"),
    "cafnet": ("lircdepth.models.teacher", "CaFNet"),
}


def build_model(arch: str, **model_config) -> nn.Module:
    """`build_model("lircdepth", max_depth=100.0)`; unknown names and options raise clearly."""
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise BadValueError(f"unknown model arch {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    model_config = check_model_config(model_config)
    module_name, class_name = ARCHITECTURES[arch]
    model_class = getattr(importlib.import_module(module_name), class_name)
    try:
        return model_class(**model_config)
    except TypeError as error:
        raise BadValueError(f"bad model_config for {arch!r}: {error}") from error
