"""ROS domains, environments and processes for the tests that start real ROS 2 processes
(test/ros, test/bag, test/errors): one scheme for all of them.

Domains
- `next_domain()` hands out a new ROS_DOMAIN_ID at every call, from ONE counter per pytest
  process: two tests of one run never share a domain (until one run uses 101 of them), so a
  test's node never hears another test's topics, whatever folder the tests live in.
- Ids are 1 to 101. Never 0: it is the default domain, where anything started without
  ROS_DOMAIN_ID listens (a `ros2` daemon, a user's tool, a node of another checkout), and
  the test would hear it or be heard. Never above 101: Fast DDS derives a domain's UDP ports
  from its id (7400 + 250 per domain), and past 101 they run into Linux's ephemeral port
  range. After 101 the counter wraps to 1.
- The counter starts at LIRCDEPTH_TEST_DOMAIN_BASE where that is set: several pytest runs
  that share one machine on purpose each get their own base, far enough apart for the
  domains one run uses (about one per ROS test). Without it the start is 20 + pid % 60, so
  runs started independently rarely collide.

Environments
- `isolated_env()` is the environment of a child process: this process's environment with a
  fresh domain, no inherited Fast DDS profile, and the project's shared-memory profile
  (config/fastdds_shm.xml, under the variable name the installed Fast DDS reads) unless
  `shm_profile=False` (Fast DDS's defaults, as a user without the profile has them).
- `sourced_env()` adds what a sourced ROS set-up gives `ros2 run`/`ros2 launch`.

Processes
- `start` a child Python with its output in a log file, `stop` it (terminate, then kill);
  `spawn` a command in its own process group and `interrupt` it as Ctrl-C in a terminal
  would; `node_args` for `python -m lircdepth_ros.launcher`, `start_cpu_node` for the
  torch-on-CPU node most tests run, `full_rig_params` for it on the whole rig;
  `wait_for_text` until a log shows a line; `ros2_until_seen` runs a `ros2 param`/`lifecycle`
  command again while the node is not yet discovered.

Import with `from test.helpers.ros_env import ...` (pytest's importlib mode puts the test
folders under the package name `test`).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lircdepth_ros.compat import profile_env, without_profile

REPO = Path(__file__).resolve().parents[2]
SHM_PROFILE = REPO / "config" / "fastdds_shm.xml"
PREFIX = Path(sys.prefix)  # where this interpreter's ROS 2 (the PyPI wheels) is installed
ROS2 = str(PREFIX / "bin" / "ros2")
LAST_DOMAIN = 101
BASE_VARIABLE = "LIRCDEPTH_TEST_DOMAIN_BASE"


def first_domain() -> int:
    """Where this process's domains start: the base variable, or a spread by process id."""
    return int(os.environ.get(BASE_VARIABLE, 20 + os.getpid() % 60))


_COUNTER = itertools.count(first_domain())


def next_domain() -> int:
    """A ROS_DOMAIN_ID no other test of this process has had (1-101, wrapping; never 0)."""
    return (next(_COUNTER) - 1) % LAST_DOMAIN + 1


def isolated_env(shm_profile: bool = True) -> dict[str, str]:
    """Environment for child processes: own domain, the shipped Fast DDS profile (or none)."""
    env = dict(without_profile(os.environ), ROS_DOMAIN_ID=str(next_domain()))
    if shm_profile:  # under the name the installed Fast DDS reads (Kilted and Jazzy differ)
        env.update(profile_env(SHM_PROFILE))
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def sourced_env(shm_profile: bool = True) -> dict[str, str]:
    """`isolated_env` plus what a sourced ROS set-up gives `ros2 run`/`ros2 launch`: this
    prefix in AMENT_PREFIX_PATH, its bin/ first on PATH; unbuffered output (logs are read
    while the process runs)."""
    env = isolated_env(shm_profile)
    env["AMENT_PREFIX_PATH"] = str(PREFIX)
    env["PATH"] = f"{PREFIX / 'bin'}{os.pathsep}{env['PATH']}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A child Python process with output in `log` (read it on failure)."""
    return subprocess.Popen(
        [sys.executable, *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def stop(*processes: subprocess.Popen | None, timeout: float = 20) -> None:
    """Terminate each process still running; kill it if it outlives `timeout` seconds."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`command` in its own process group (so a test can Ctrl-C it as a terminal would)."""
    return subprocess.Popen(
        command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def interrupt(process: subprocess.Popen, timeout: float = 30) -> int:
    """Ctrl-C in a terminal: SIGINT to the whole process group of a `spawn`ed process (then
    SIGKILL after `timeout` seconds); its exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def node_args(checkpoint: Path, *params: str) -> list[str]:
    """Arguments of `python -m lircdepth_ros.launcher` with `-p name:=value` for each param."""
    extra = [x for p in params for x in ("-p", p)]
    return ["-m", "lircdepth_ros.launcher", "-p", f"checkpoint:={checkpoint}", *extra]


def full_rig_params(checkpoint: Path) -> list[str]:
    """Parameters of the torch-on-CPU node for the whole nuScenes rig (six cameras, five
    radars) in the bags' map frame; each test adds its topics."""
    from lircdepth.synth.config import FULL_CAMERAS, FULL_RADARS

    return [
        f"checkpoint:={checkpoint}",
        "device:=cpu",
        "backend:=torch",
        "frames.fixed:=map",
        f"cameras:=[{', '.join(FULL_CAMERAS)}]",
        f"radars:=[{', '.join(FULL_RADARS)}]",
    ]


def start_cpu_node(
    checkpoint: Path, env: dict[str, str], log: Path, *params: str
) -> subprocess.Popen:
    """The node on the CPU with the torch backend (tests compare with the torch estimator;
    `auto` may pick another engine, equal only to ~1e-5), plus `params`."""
    return start(node_args(checkpoint, "device:=cpu", "backend:=torch", *params), env, log)


def wait_for_text(
    log: Path, text: str, process: subprocess.Popen, timeout: float, poll: float = 0.3
) -> str:
    """The log's content once it holds `text` (read every `poll` seconds); AssertionError
    (with the log) when the process ends or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text()
        if text in content:
            return content
        if process.poll() is not None:
            break
        time.sleep(poll)
    raise AssertionError(f"'{text}' not in {log}:\n{log.read_text()}")


def domain_env() -> dict[str, str]:
    """Only a fresh ROS_DOMAIN_ID: for a command that otherwise runs in this process's
    environment."""
    return {"ROS_DOMAIN_ID": str(next_domain())}


# What `ros2 param` and `ros2 lifecycle` print while discovery has not yet seen the node or its
# services (each call is a new participant that waits 5 s for them: slow on a loaded machine,
# above all under Jazzy's Fast DDS 2, where `param dump` then prints nothing on stdout).
NOT_YET_SEEN = ("node not found", "wait for service timed out", "exception while calling")


def ros2_until_seen(env: dict[str, str], *args: str, patience: float = 30) -> str:
    """`ros2 ARGS...` (stdout, then stderr), run again for `patience` seconds while its output
    says the node or its services are not yet seen."""
    deadline = time.monotonic() + patience
    while True:
        result = subprocess.run(
            [ROS2, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        output = result.stdout + result.stderr
        if not any(text in output.lower() for text in NOT_YET_SEEN):
            return output
        if time.monotonic() > deadline:
            return output
        time.sleep(1)
