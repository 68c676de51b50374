"""The `lircdepth_node` command line: convenience flags -> ROS arguments (the shipped YAML
first, so every `--ros-args -p` and `--params-file` wins over it), process set-up, then the
plain or the managed node until shutdown.

Start without `launch`:  lircdepth_node --config config/lircdepth.yaml -p checkpoint:=student.pt
or the ROS way:          ros2 run lircdepth lircdepth_node --ros-args -p checkpoint:=student.pt
(`python -m lircdepth_ros.launcher ...` is the same command.)

Only the standard library and pure helpers are imported at module level: `main` must ask
Linux for the parent-death signal before the slow imports (rclpy, the model), so those are
imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from lircdepth.resources import shipped_file
from lircdepth_ros.compat import apply_profile

PROG = "lircdepth_node"


def default_params_file() -> Path | None:
    """config/lircdepth.yaml from the installed share folder, else from the source tree."""
    return shipped_file("config/lircdepth.yaml")


def default_fastdds_profile() -> Path | None:
    return shipped_file("config/fastdds_shm.xml")


def end_with_ros2_run_parent() -> None:
    """Under `ros2 run` or `ros2 launch`, ask Linux for SIGINT (a clean shutdown) when that
    parent dies.

    Why: `ros2 run` runs the node as a child and does not pass signals on, and `ros2 launch`
    given SIGTERM exits at once without stopping what it started (launch's own log says
    "using SIGTERM can result in orphaned processes"), so a `kill`/SIGTERM of either (a
    supervisor, a script) would leave the node running as an orphan. Only for these
    parents: a node started from a shell must outlive that shell.
    """
    parent = os.getppid()
    try:
        command = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if not (
        any(part.endswith(b"ros2") for part in command[:2])
        and (b"run" in command or b"launch" in command)
    ):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGINT, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        raise SystemExit(0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="camera image + radar cloud -> metric depth image", add_help=True
    )
    parser.add_argument(
        "--config", type=Path, help="parameters YAML (default: the shipped config/lircdepth.yaml)"
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME:=VALUE",
        help="override one parameter",
    )
    parser.add_argument(
        "--managed",
        action="store_true",
        help="a managed (lifecycle) node: configure loads the model, activate processes "
        "(`ros2 lifecycle set`)",
    )
    parser.add_argument(
        "--default-transports",
        action="store_true",
        help="do not apply the shipped Fast DDS shared-memory profile when neither "
        "FASTDDS_DEFAULT_PROFILES_FILE nor FASTRTPS_DEFAULT_PROFILES_FILE (Jazzy) is set",
    )
    return parser


def build_ros_args(argv: list[str]) -> tuple[list[str], argparse.Namespace]:
    """Turn the convenience flags into ROS arguments; the shipped YAML is the default."""
    from lircdepth_ros.params import (
        PARAMETERS,
        ROS_NODE_PARAMETERS,
        ParameterError,
        check_override,
        quote_string_overrides,
    )

    parser = _parser()
    split = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    ros_args = argv[split:]
    if args.config is not None and not args.config.is_file():
        parser.error(f"--config: file not found: {args.config}")
    ros_overrides = [
        value
        for flag, value in zip(ros_args, ros_args[1:], strict=False)
        if flag in ("-p", "--param")
        and value.partition(":=")[0] in (*PARAMETERS, *ROS_NODE_PARAMETERS)
    ]
    for assignment in [*args.param, *ros_overrides]:
        try:
            check_override(assignment)
        except ParameterError as error:
            print(f"{PROG}: error: {error}", file=sys.stderr)
            raise SystemExit(2) from error
    params_file = args.config or (None if "--params-file" in ros_args else default_params_file())
    first = (["--params-file", str(params_file)] if params_file else []) + [
        x for p in args.param for x in ("-p", p)
    ]
    # rcl applies parameter files and -p overrides in order, the last one wins: the
    # defaults go first so the user's --ros-args always win over them.
    if first or ros_args:
        ros_args = ["--ros-args", *first, *ros_args[1:]]
    return quote_string_overrides(ros_args), args


def _rcl_error_text(error: Exception) -> str:
    """rcl's message without its "failed to initialize" prefix and source location."""
    text = str(error).removeprefix("failed to initialize rcl: ")
    return text.split(". Error:", 1)[0].split(", at /", 1)[0]


def node_class(managed: bool) -> type:
    """The plain node, or with `--managed` the lifecycle one."""
    if managed:
        from lircdepth_ros.lifecycle_node import ManagedDepthNode

        return ManagedDepthNode
    from lircdepth_ros.node import DepthNode

    return DepthNode


def run_node(ros_args: list[str], make_node: type) -> int:
    """rclpy up, the node built and spun until shutdown; the exit status."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from lircdepth_ros.interruptible import Interrupted, exit_abandoning_the_load
    from lircdepth_ros.node import StartupError

    try:
        rclpy.init(args=[sys.argv[0], *ros_args])
    except RuntimeError as error:  # rcl could not parse the ROS arguments
        print(f"{PROG}: error: {_rcl_error_text(error)}", file=sys.stderr)
        return 2
    node = None
    try:
        node = make_node()
        rclpy.spin(node)
    except StartupError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except Interrupted:
        exit_abandoning_the_load()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        if rclpy.ok():
            raise
        # Ctrl-C during start-up: rclpy shut the context down under the constructor.
    finally:
        if node is not None:
            node.stop()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    """The `lircdepth_node` executable."""
    end_with_ros2_run_parent()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        ros_args, args = build_ros_args(argv)
        # Under the name the installed Fast DDS reads (Jazzy and Kilted differ): see compat.py.
        apply_profile(None if args.default_transports else default_fastdds_profile())
        return run_node(ros_args, node_class(args.managed))
    except KeyboardInterrupt:  # Ctrl-C before rclpy took over SIGINT
        return 130


if __name__ == "__main__":
    sys.exit(main())
