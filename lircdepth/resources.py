"""Files the project ships beside its code (config/, training/args/, bench/).

They live in the source tree of a checkout (also an editable install) and in
`share/lircdepth_ros/` of a colcon/ament install; look in both, installed copy first.
"""

from __future__ import annotations

from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]
ROS_PACKAGE = "lircdepth_ros"


def shipped_file(relative: str) -> Path | None:
    """Path of a shipped file such as "config/lircdepth.yaml", or None when absent."""
    candidates = [SOURCE_ROOT / relative]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.insert(0, Path(get_package_share_directory(ROS_PACKAGE)) / relative)
    except (ImportError, LookupError, OSError, ValueError):
        pass
    return next((path for path in candidates if path.exists()), None)
