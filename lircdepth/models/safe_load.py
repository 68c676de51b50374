"""Reading checkpoint files without running code from them.

Every checkpoint is read with `torch.load(weights_only=True)`: the unpickler then builds
only tensors, containers and plain Python values, so a crafted file cannot execute code.
The authors' published checkpoints also hold one numpy array (`best_eval_steps`, int32);
rebuilding it needs exactly four numpy globals, allow-listed here and nowhere else.
"""

from __future__ import annotations

import contextlib
import importlib
import os

import numpy as np
import torch

# The numpy globals a numpy int32 array pickles to (numpy 1.x names, as in the published files).
PUBLISHED_NUMPY_GLOBALS = (
    "numpy.core.multiarray._reconstruct",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.dtypes.Int32DType",
)


def _multiarray():
    """numpy 2 renamed numpy.core to numpy._core (numpy 1.26 has both; numpy 2 warns on the old)."""
    with contextlib.suppress(ImportError):
        return importlib.import_module("numpy._core.multiarray")
    return importlib.import_module("numpy.core.multiarray")


def numpy_safe_globals() -> list:
    """The allow-list for `torch.serialization.safe_globals`: the four published globals,
    `_reconstruct` under both its numpy 1 and numpy 2 module names."""
    reconstruct = _multiarray()._reconstruct
    return [
        (reconstruct, "numpy.core.multiarray._reconstruct"),
        (reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        np.dtypes.Int32DType,
    ]


def safe_torch_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> object:
    """`torch.load(weights_only=True)` with only the published numpy globals allowed.

    `map_location` moves every storage (also ones tagged `cuda:0` by a GPU run) to that
    device, so GPU-trained files load on a machine without CUDA.
    """
    with torch.serialization.safe_globals(numpy_safe_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)
