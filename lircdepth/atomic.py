"""Result files appear whole or not at all: write a temp name in the same folder, then rename.

Every writer of a result (checkpoints, prepared samples, ONNX models, reports, JSON) goes
through `atomic_open`; on any failure, Ctrl-C included, the temp file is removed and the
previous file (if any) is left untouched. A run killed by SIGKILL cannot clean up, so its
temp files (`.NAME.XXXX.tmp`) are removed by `remove_stale_temps` on the next run.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

TEMP_SUFFIX = ".tmp"


class _RememberingFile:
    """A binary file that keeps the first OSError of write(), for libraries that hide it.

    torch.save reports a full disk as `enforce fail ... unexpected pos`; the remembered
    OSError (ENOSPC, naming the file) is what the user is told instead.
    """

    def __init__(self, stream: IO[bytes], final: Path):
        self._stream = stream
        self._final = final
        self.error: OSError | None = None

    def write(self, data) -> int:
        try:
            return self._stream.write(data)
        except OSError as error:
            if error.filename is None:
                error.filename = str(self._final)
            self.error = self.error or error
            raise

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def temp_name_for(path: Path) -> tuple[int, Path]:
    """(open descriptor, path) of a fresh temp file next to `path`."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    return handle, Path(temp)


@contextmanager
def atomic_open(path: str | os.PathLike, durable: bool = False) -> Iterator[_RememberingFile]:
    """Binary file object whose content replaces `path` only if the block finishes.

    `durable` also fsyncs before the rename (checkpoints: survive a power cut, not only a kill).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = temp_name_for(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            remembering = _RememberingFile(stream, path)
            try:
                yield remembering
                stream.flush()
                if durable:
                    os.fsync(stream.fileno())
            except Exception as error:
                if remembering.error is not None and remembering.error is not error:
                    raise remembering.error from error
                raise
        os.replace(temp, path)
    except OSError as error:
        temp.unlink(missing_ok=True)
        if error.filename is None:  # a failed flush or close names no file
            error.filename = str(path)
        raise
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temp path for writers that insist on a file name; renamed to `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = temp_name_for(path)
    os.close(handle)
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes to `path` atomically."""
    with atomic_open(path) as stream:
        stream.write(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 text to `path` atomically."""
    write_atomic(path, text.encode("utf-8"))


def strict_json_value(value: Any) -> Any:
    """`value` with every NaN / inf float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json_value(item) for item in value]
    return value


def write_json_atomic(path: str | os.PathLike, value: Any, indent: int | None = 2) -> None:
    """Strict JSON (NaN -> null) written atomically; strict parsers can read every file."""
    text = json.dumps(strict_json_value(value), indent=indent, allow_nan=False)
    write_text_atomic(path, text + "\n")


def remove_stale_temps(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Delete the temp files a killed run left in `folder` (its subfolders too when
    `recursive`); returns them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = f".*.*{TEMP_SUFFIX}"
    found = folder.rglob(pattern) if recursive else folder.glob(pattern)
    stale = [p for p in found if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
