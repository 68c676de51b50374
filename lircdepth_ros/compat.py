"""What differs between the ROS 2 distributions this package runs on, and how it is handled.

Supported: Kilted (rclpy 9, Fast DDS 3.2) and Jazzy (rclpy 7, Fast DDS 2.14). Found by
running the ROS and bag tests under both (docs/ros.md, "ROS 2 distributions"); the rclpy
API the package uses is the same on both, only Fast DDS's names differ:

- The XML profile's environment variable: Fast DDS 2.x (Jazzy, Humble) reads
  `FASTRTPS_DEFAULT_PROFILES_FILE` only; Fast DDS 3.x (Kilted) reads
  `FASTDDS_DEFAULT_PROFILES_FILE`, and Kilted's rmw_fastrtps still applies the old name but
  logs a deprecation warning for every participant (every node and `ros2` command). So
  the project sets the name the installed Fast DDS reads, and only that one.
- Fast DDS 3.x names its shared-memory files `/dev/shm/fastdds_*`, 2.x `fastrtps_*`.

Which Fast DDS is installed is read from its library (3.x renamed `libfastrtps.so` to
`libfastdds.so`) on the loader's path: LD_LIBRARY_PATH (a sourced ROS set-up, or the PyPI
wheels' start-up hook) and this interpreter's prefix.

Humble (rclpy 3, Python 3.10) is not supported: its rclpy has `rclpy.qos_event` instead
of `rclpy.event_handler` and no `Node.add_post_set_parameters_callback` (see docs/ros.md).

Pure Python (no rclpy import), so launch files, tests and tools can use it before rclpy
starts.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

FASTDDS_3_NAME = "FASTDDS_DEFAULT_PROFILES_FILE"
FASTDDS_2_NAME = "FASTRTPS_DEFAULT_PROFILES_FILE"
PROFILE_ENV_NAMES = (FASTDDS_3_NAME, FASTDDS_2_NAME)
SHM_SEGMENT_PREFIXES = ("fastdds_", "fastrtps_")


@functools.cache
def fastdds_major() -> int | None:
    """3 or 2: the major version of the Fast DDS library the loader finds first; None
    when none is found."""
    folders = [*os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep), f"{sys.prefix}/lib"]
    for folder in filter(None, folders):
        path = Path(folder)
        if next(path.glob("libfastdds.so*"), None):
            return 3
        if next(path.glob("libfastrtps.so*"), None):
            return 2
    return None


def profile_env_names() -> tuple[str, ...]:
    """The names the installed Fast DDS reads its profile from (both when none is found)."""
    by_major: dict[int | None, tuple[str, ...]] = {3: (FASTDDS_3_NAME,), 2: (FASTDDS_2_NAME,)}
    return by_major.get(fastdds_major(), PROFILE_ENV_NAMES)


def profile_env(profile: str | Path, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """The environment entries that make the installed Fast DDS read `profile`."""
    return dict.fromkeys(names or profile_env_names(), str(profile))


def chosen_profile(
    environ: Mapping[str, str] | None = None, names: tuple[str, ...] | None = None
) -> str | None:
    """The profile the environment names: under the installed Fast DDS's name first, then
    under the other one (a user's habit from another distribution); None if neither."""
    environ = os.environ if environ is None else environ
    ordered = dict.fromkeys([*(names or profile_env_names()), *PROFILE_ENV_NAMES])
    return next((environ[name] for name in ordered if environ.get(name)), None)


def apply_profile(
    default: str | Path | None,
    environ: MutableMapping[str, str] | None = None,
    names: tuple[str, ...] | None = None,
) -> str | None:
    """Before the context starts: the user's profile (given under either name) or else
    `default` (None: keep the built-in transports), under the installed Fast DDS's name
    when that is unset. Returns the profile now in force, or None."""
    environ = os.environ if environ is None else environ
    names = names or profile_env_names()
    profile = chosen_profile(environ, names) or (str(default) if default else None)
    if profile:
        for name in names:
            if not environ.get(name):
                environ[name] = profile
    return profile


def without_profile(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` with no Fast DDS profile under either name."""
    return {k: v for k, v in environ.items() if k not in PROFILE_ENV_NAMES}


def is_shared_memory_segment(path: str | Path) -> bool:
    """Whether `path` is a Fast DDS shared-memory file of either major version."""
    path = Path(path)
    return path.parent == Path("/dev/shm") and path.name.startswith(SHM_SEGMENT_PREFIXES)
