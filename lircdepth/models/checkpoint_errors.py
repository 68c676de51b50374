"""What both checkpoint formats share: the error type and the DDP key prefix.

Its own module so that `checkpoint` (project files) and `published` (the authors' files)
can both use it without importing each other.
"""

from __future__ import annotations

from lircdepth.errors import UsageError

WRAPPER_PREFIX = "module."  # DataParallel / DistributedDataParallel


class CheckpointError(UsageError, RuntimeError):
    """A checkpoint file is missing, unreadable or not in the project's format."""
