"""The command-line options several benchmarks share."""

from __future__ import annotations

import argparse


def world_parser(
    doc: str, keyframes: int = 4, width: int = 704, height: int = 388
) -> argparse.ArgumentParser:
    """A benchmark's parser (described by its docstring's first line) with the size of the
    synthetic world it generates: --scenes, --keyframes, --width, --height."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=2)
    parser.add_argument("--keyframes", type=int, default=keyframes)
    parser.add_argument("--width", type=int, default=width)
    parser.add_argument("--height", type=int, default=height)
    return parser
