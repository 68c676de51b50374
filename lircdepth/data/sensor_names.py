"""Sensor names asked for on the command line, checked against those a source records."""

from __future__ import annotations

from collections.abc import Sequence

ALL = "all"  # stands for every sensor of the kind, in the source's order


def pick_names(requested: Sequence[str], available: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the names chosen, the requested names the source does not record).

    `all` chooses every available name; a name asked for twice counts once."""
    if ALL in requested:
        return list(available), []
    unknown = [name for name in requested if name not in available]
    return list(dict.fromkeys(requested)), unknown
