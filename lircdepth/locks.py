"""One writer per output folder: `train`, `prepare` and `bag convert` lock the folder they write.

The lock is a file `FOLDER/.lircdepth.lock` holding the writer's process id, host and
command, with an exclusive `flock` on it for as long as the job runs. The kernel drops the
`flock` when its process ends, however it ends (SIGKILL and power cuts included), so a
lock file left by a dead process is stale: the next writer takes it over with a note. A
second writer while the first runs is refused in one line naming the holder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lircdepth.errors import JobError

LOG = logging.getLogger(__name__)

LOCK_NAME = ".lircdepth.lock"


class FolderLockedError(JobError):
    """Another process is writing the same output folder."""


def _holder(text: str) -> str:
    """'lircdepth train (pid 123 on host, since 2026-12-06 13:00:00)' from a lock file's text."""
    try:
        info = json.loads(text)
        return f"{info['command']} (pid {info['pid']} on {info['host']}, since {info['since']})"
    except (ValueError, TypeError, KeyError):
        return "an unknown process (unreadable lock file)"


def _open_locked(path: Path) -> int | None:
    """A descriptor of `path` holding its exclusive flock, or None while another process holds
    it. Retries when the holder removed the file between our open and our lock."""
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        os.close(handle)


@contextmanager
def folder_lock(folder: str | os.PathLike, command: str) -> Iterator[Path]:
    """Hold `folder`'s writer lock (creating the folder) for the `with` block; yields the lock
    file. Raises FolderLockedError naming the holder while another live process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    handle = _open_locked(path)
    if handle is None:
        holder = _holder(path.read_text(errors="replace") if path.is_file() else "")
        raise FolderLockedError(
            f"{folder} is being written by {holder}; lock file {path}",
            hint="wait for that job to end, or write to another folder",
        )
    try:
        previous = os.read(handle, 4096).decode("utf-8", errors="replace")
        if previous.strip():
            LOG.warning(
                "lircdepth: note: taking over the stale lock %s of %s, which is no longer running",
                path,
                _holder(previous),
            )
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(handle, 0)
        os.pwrite(handle, (json.dumps(info) + "\n").encode("utf-8"), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)  # before releasing: a waiting writer re-opens a new file
        os.close(handle)
