"""Convert one of the authors' published checkpoints into a project checkpoint.

lircdepth import-checkpoint model-1170000-best_mae_2.00887 --out lircdepth_published.pt

The file is read safely (weights_only, only the numpy globals the format needs), every
weight is mapped to the project's network and loaded once as a check, and the result is
written atomically with arch, model_config, the weights and provenance (source file name,
sha256, global_step, best MAE), so `evaluate`, `export`, `DepthEstimator` and the ROS node
take it like any checkpoint trained here.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

HASH_CHUNK_BYTES = 1 << 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("published", type=Path, help="the authors' checkpoint file")
    parser.add_argument("--out", type=Path, required=True, help="project checkpoint to write")
    parser.add_argument(
        "--arch",
        choices=("auto", "lircdepth", "cafnet"),
        default="auto",
        help="expected network (default: read it from the weights)",
    )


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (the teacher file is 700 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_published(
    published: str | os.PathLike, out: str | os.PathLike, arch: str = "auto"
) -> dict:
    """Read, map, verify (a strict load into the project's network) and write; returns the
    project checkpoint. A project checkpoint or any unknown file is refused, naming it."""
    from lircdepth.models.checkpoint import (
        CheckpointError,
        load_checkpoint,
        load_model,
        save_checkpoint,
    )
    from lircdepth.models.published import convert_published, is_published_checkpoint

    raw = load_checkpoint(published)
    if not is_published_checkpoint(raw):
        what = "a project checkpoint already" if "arch" in raw else "not a published checkpoint"
        raise CheckpointError(
            f"{published} is {what} (expected the authors' dict with a 'module.' state_dict, "
            "'optimizer' and 'global_step')"
        )
    converted = convert_published(raw, arch, source=published, sha256=file_sha256(published))
    load_model(converted)
    save_checkpoint(out, converted)
    return converted


def run(args: argparse.Namespace) -> int:
    converted = import_published(args.published, args.out, args.arch)
    provenance = converted["provenance"]
    print(
        f"wrote {args.out}: {converted['arch']} {converted['model_config']}, "
        f"{len(converted['model'])} tensors, {len(provenance['dropped'])} dropped "
        f"(unused classifier), global_step {provenance['global_step']}, "
        f"best MAE {provenance['best_mae']}, sha256 {provenance['sha256'][:16]}..."
    )
    return 0
