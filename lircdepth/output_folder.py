"""The one place `predict` and `prepare --bag` take their output folder: create or reuse it
under the folder's writer lock (`lircdepth.locks`), then drop temp files a killed run left."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lircdepth.atomic import remove_stale_temps
from lircdepth.errors import JobError
from lircdepth.locks import folder_lock


@contextmanager
def output_folder(out: str | Path, command: str) -> Iterator[Path]:
    """Hold `out` (created, or reused to resume) for the `with` block; a second writer is
    refused naming this one. Temp files are dropped only once the lock is held, so a live
    writer's are never touched."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise JobError(f"--out {out} is a file, not a folder")
    with folder_lock(out, command):
        for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
            remove_stale_temps(folder)
        yield out
