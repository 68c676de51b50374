"""Slow start-up work (loading the model, building an engine) that SIGINT/SIGTERM can cut
short.

rclpy's signal handlers only shut the context down; a model load running in the main thread
would finish first (over a minute for some engines), and a supervisor's `docker stop` kills
the node after 10 s. So the work runs in a daemon thread while the main thread watches the
context, and a shutdown ends the wait at once: the node is then destroyed and the process
exits, leaving the abandoned load behind.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.05


class Interrupted(Exception):
    """The context was shut down (Ctrl-C, SIGTERM) before the work finished."""


def run_until_shutdown(work: Callable[[], T], context_ok: Callable[[], bool], name: str) -> T:
    """`work()`'s result, or its exception; Interrupted when `context_ok()` turns False first."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # noqa: BLE001 - handed over to the waiting thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(POLL_SECONDS)
        if thread.is_alive() and not context_ok():
            raise Interrupted(f"shut down while {name}")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


def exit_abandoning_the_load(context=None) -> None:
    """End the process now (status 0, as on a shutdown request), the node already destroyed.

    Why not return: the interpreter's exit waits seconds for the abandoned load thread (an
    import or a C++ call in torch), past the 2 s a supervisor allows. The context is
    destroyed first, which frees the DDS participant and its shared-memory segment.
    """
    import rclpy

    (context or rclpy.get_default_context()).destroy()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
