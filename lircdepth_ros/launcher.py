"""Entry point of the `lircdepth_node` executable: process set-up that must happen
before the (slow) imports of the node, then the node's own main."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def end_with_ros2_run_parent() -> None:
    """Under `ros2 run`, ask Linux for SIGINT (a clean shutdown) when that parent dies.

    Why: `ros2 run` runs the node as a child and does not pass signals on, so a
    `kill`/SIGTERM of it (a supervisor, a script) would leave the node running as an
    orphan. Only for `ros2 run`: a node started from a shell must outlive that shell.
    """
    parent = os.getppid()
    try:
        command = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if not (any(part.endswith(b"ros2") for part in command[:2]) and b"run" in command):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGINT, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        raise SystemExit(0)


def main() -> int:
    end_with_ros2_run_parent()
    try:
        from lircdepth_ros.node import main as node_main

        return node_main()
    except KeyboardInterrupt:  # Ctrl-C before rclpy took over SIGINT
        return 130


if __name__ == "__main__":
    sys.exit(main())
