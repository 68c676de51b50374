"""Library notes reach the terminal only where a command shows them (lircdepth.console)."""

from __future__ import annotations

import logging

from lircdepth.console import show_notes


def test_notes_show_on_stdout_and_warnings_on_stderr_once_shown(capsys):
    name = "lircdepth.test_console_notes"
    logger = logging.getLogger(name)
    logger.info("silent before show_notes")
    assert capsys.readouterr().out == ""

    show_notes(name)
    show_notes(name)  # a second call adds no second handler
    logging.getLogger(f"{name}.child").info("\n== a stage")
    logger.warning("warning: %s", "careful")
    captured = capsys.readouterr()
    assert captured.out == "\n== a stage\n"
    assert captured.err == "warning: careful\n"
