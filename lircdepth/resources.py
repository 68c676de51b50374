"""Files the project ships beside its code (config/, training/args/).

They live in the source tree of a checkout (also an editable install) and in
`share/lircdepth/` of an install; look in both, installed copy first. The installed
copies are found under the prefixes of `AMENT_PREFIX_PATH` (a colcon/ament install: the
variable a sourced ROS workspace sets and ament's index reads; the core reads the variable
itself so that it never imports a ROS package, test/test_layering.py), then under this
interpreter's prefix (where `pip install` puts the wheel's data files).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]
ROS_PACKAGE = "lircdepth"


def installed_roots() -> list[Path]:
    """`<prefix>/share/lircdepth` of every ament prefix, in AMENT_PREFIX_PATH's order,
    then of this interpreter's prefix."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    prefixes.append(sys.prefix)
    return [Path(prefix) / "share" / ROS_PACKAGE for prefix in prefixes]


def shipped_file(relative: str) -> Path | None:
    """Path of a shipped file such as "config/lircdepth.yaml", or None when absent."""
    candidates = [root / relative for root in installed_roots()] + [SOURCE_ROOT / relative]
    return next((path for path in candidates if path.exists()), None)
