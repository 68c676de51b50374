"""Library notes on the terminal, through `logging`.

Library functions log to their module's logger (`logging.getLogger(__name__)`) and print
nothing. A command shows the notes of the library parts it runs with `show_notes`: their
INFO records as plain lines on stdout, warnings and errors on stderr, as the command's
own output. A program that imports the library keeps its own logging set-up: without
`show_notes`, INFO notes stay silent and warnings reach Python's last-resort handler
(stderr, the plain message).
"""

from __future__ import annotations

import logging
import sys


class ConsoleHandler(logging.Handler):
    """Plain message lines: INFO and below on stdout, WARNING and above on stderr (the
    streams are looked up at each record, so a redirected sys.stdout is followed)."""

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
        try:
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging's own policy for a failing handler
            self.handleError(record)


def show_notes(*names: str) -> None:
    """Show the INFO notes of the loggers `names` (and their children) on the terminal.

    They stop propagating to the root logger, so a command that also configures the root
    logger does not print them twice. Calling it again adds no second handler."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(handler, ConsoleHandler) for handler in logger.handlers):
            logger.addHandler(ConsoleHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
