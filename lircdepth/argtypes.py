"""Argparse value types that refuse out-of-range numbers as usage errors (exit 2).

`--caps -5` or `--max-images -1` must not run a job that scores nothing or everything;
argparse reports these as `lircdepth COMMAND: error: argument --flag: ...`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

NumberT = TypeVar("NumberT", int, float)


def _number(text: str, kind: type[NumberT]) -> NumberT:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _bounded(
    kind: type[NumberT], allowed: Callable[[NumberT], bool], wanted: str
) -> Callable[[str], NumberT]:
    """A parser of `kind` that refuses values for which `allowed` is false."""

    def parse(text: str) -> NumberT:
        value = _number(text, kind)
        if not allowed(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_float = _bounded(float, lambda v: v > 0, "greater than 0")  # caps, rates, timeouts
non_negative_float = _bounded(float, lambda v: v >= 0, "0 or more")  # waits (0: do not wait)
non_negative_int = _bounded(int, lambda v: v >= 0, "0 or more")  # counts (0: all or none)
positive_int = _bounded(int, lambda v: v >= 1, "at least 1")  # sizes, batch sizes


def int_in_range(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high` (both included)."""
    return _bounded(int, lambda v: low <= v <= high, f"from {low} to {high}")
