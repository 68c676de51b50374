"""The error contract of every `lircdepth` command, checked one way by the error tests
(test/errors): exit 1 (failed job) or 2 (usage), no traceback, and exactly one
`...: error: ...` line on stderr that names each culprit (a file, a flag, a value).

`run_cli` runs a command in this process through `lircdepth.cli.main` (no interpreter
start-up: for many cases); `run_process` in a child process (for exit codes, signals and the
console scripts themselves).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path


def run_cli(argv: list) -> tuple[int, str]:
    """(exit code, stderr) of `lircdepth *argv` run in this process; stdout is dropped."""
    from lircdepth.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit_:  # argparse
            code = exit_.code
    return code, err.getvalue()


def run_process(
    args: list, timeout: float = 240, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`args` in a child process (one OpenMP thread, `env` over this environment)."""
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )


def assert_one_line_error(
    code: int, err: str, expected: int | tuple[int, ...], *culprits: object
) -> str:
    """The exit code (one of `expected`), no traceback, and one error line naming every
    culprit; that line."""
    assert code in (expected if isinstance(expected, tuple) else (expected,)), (code, err[-3000:])
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err[-3000:]
    for culprit in culprits:
        assert str(culprit) in errors[0], (culprit, errors[0])
    return errors[0]


def assert_failed(result: subprocess.CompletedProcess, expected: int, *culprits: object) -> str:
    """`assert_one_line_error` of a finished child process."""
    return assert_one_line_error(result.returncode, result.stderr, expected, *culprits)


def temp_files(folder: Path) -> list[Path]:
    """The temporary files an atomic write leaves while unfinished (none after a failure)."""
    return list(Path(folder).rglob(".*.tmp")) if Path(folder).exists() else []
