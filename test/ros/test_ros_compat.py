"""lircdepth_ros.compat: the Fast DDS profile under the name the installed Fast DDS reads
(3.x, Kilted: FASTDDS_..., 2.x, Jazzy: FASTRTPS_...), and the shared-memory file names of
both. Whether each Fast DDS really reads its name is checked by the shared-memory tests
under each distribution (test_ros_node's and test_bag_ros's SIGTERM tests find the
profile's segments only when it was applied)."""

from __future__ import annotations

import importlib.metadata

import pytest

from lircdepth_ros.compat import (
    FASTDDS_2_NAME,
    FASTDDS_3_NAME,
    apply_profile,
    chosen_profile,
    fastdds_major,
    is_shared_memory_segment,
    profile_env,
    profile_env_names,
    without_profile,
)

JAZZY, KILTED = (FASTDDS_2_NAME,), (FASTDDS_3_NAME,)


def installed_wheel(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def test_the_installed_fast_dds_is_found_by_its_library():
    """The PyPI wheels name the Fast DDS they ship: ros-fastdds (3.x), ros-fastrtps (2.x)."""
    wheels = {3: installed_wheel("ros-fastdds"), 2: installed_wheel("ros-fastrtps")}
    if sum(wheels.values()) != 1:
        pytest.skip("not a venv of the PyPI ROS 2 wheels")
    major = 3 if wheels[3] else 2
    assert fastdds_major() == major
    assert profile_env_names() == (KILTED if major == 3 else JAZZY)


@pytest.mark.parametrize("names", [JAZZY, KILTED])
def test_default_profile_is_set_under_the_installed_name_only(names):
    environ = {"PATH": "/bin"}
    assert apply_profile("/p/shm.xml", environ, names) == "/p/shm.xml"
    assert environ == {"PATH": "/bin", names[0]: "/p/shm.xml"}
    assert profile_env("/p/shm.xml", names) == {names[0]: "/p/shm.xml"}


@pytest.mark.parametrize("names", [JAZZY, KILTED])
def test_a_user_profile_under_either_name_wins_and_reaches_the_installed_name(names):
    for name in (FASTDDS_2_NAME, FASTDDS_3_NAME):
        environ = {name: "/user.xml"}
        assert apply_profile("/p/shm.xml", environ, names) == "/user.xml"
        assert environ[names[0]] == "/user.xml" and environ[name] == "/user.xml"


def test_the_installed_name_is_read_first():
    environ = {FASTDDS_3_NAME: "/three.xml", FASTDDS_2_NAME: "/two.xml"}
    assert chosen_profile(environ, JAZZY) == "/two.xml"
    assert chosen_profile(environ, KILTED) == "/three.xml"
    apply_profile("/p/shm.xml", environ, JAZZY)
    assert environ == {FASTDDS_3_NAME: "/three.xml", FASTDDS_2_NAME: "/two.xml"}


def test_no_default_keeps_the_built_in_transports():
    environ: dict[str, str] = {}
    assert apply_profile(None, environ, KILTED) is None
    assert environ == {} and chosen_profile(environ, KILTED) is None


def test_without_profile_drops_both_names():
    env = {"A": "1", FASTDDS_2_NAME: "/a.xml", FASTDDS_3_NAME: "/b.xml"}
    assert without_profile(env) == {"A": "1"}


def test_shared_memory_files_of_both_major_versions():
    assert is_shared_memory_segment("/dev/shm/fastdds_6b3c_el")  # Fast DDS 3.x
    assert is_shared_memory_segment("/dev/shm/fastrtps_6b3c_el")  # Fast DDS 2.x
    assert not is_shared_memory_segment("/dev/shm/sem.other")
    assert not is_shared_memory_segment("/tmp/fastdds_6b3c")
