"""One error path for every `lircdepth` command: expected failures are one line, bugs a traceback.

Code that meets a problem the user can fix (a missing or corrupt file, a bad flag value, no
GPU, a full disk) raises a `UserError` naming the file or flag. `run_command` turns it into
`lircdepth <command>: error: <message>` (plus a `hint:` line) on stderr and an exit code:

    0   success
    1   the job failed (unreadable data, disk full, read-only folder, training diverged)
    2   usage: a bad flag value, or a path given on the command line that cannot be used
    130 interrupted by the user (Ctrl-C)
    143 terminated (SIGTERM: `kill`, systemd, `docker stop`), cleaned up as after Ctrl-C

A traceback is printed only with `lircdepth --debug ...` or for an unexpected exception,
which is a bug and says so.
"""

from __future__ import annotations

import errno
import re
import sys
import traceback
from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM killed

EXIT_CODES_HELP = (
    "exit codes: 0 success, 1 the job failed (bad data, disk full, read-only folder, "
    "diverged), 2 usage (bad flag value or unusable path given), 130 interrupted (Ctrl-C), 143 "
    "terminated (SIGTERM). "
    "Expected failures print one line `lircdepth COMMAND: error: ...`; add --debug "
    "(before COMMAND) for a traceback."
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so every `with`/`finally` cleans up as on Ctrl-C."""


# torch's DataLoader re-raises a worker's exception as `type(message)` with this preamble
# and the worker's whole traceback; the user's one line is the traceback's last line.
_WORKER_PREAMBLE = re.compile(r"^Caught \w+ in DataLoader worker process \d+\.\n", re.ASCII)


def _worker_message(message: str) -> str:
    """The original message of an error re-raised from a DataLoader worker (else unchanged)."""
    if not isinstance(message, str) or not _WORKER_PREAMBLE.match(message):
        return message
    last = message.rstrip().splitlines()[-1]
    return last.split(": ", 1)[1] if ": " in last else last


class UserError(Exception):
    """An expected failure the user can act on; the message names the file or flag."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(_worker_message(message))
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:  # plain message, also where a base is KeyError (which quotes)
        return str(self.args[0]) if self.args else ""


class UsageError(UserError):
    """The command line asks for something impossible (bad value, unusable path): exit 2."""

    exit_code = EXIT_USAGE


class BadValueError(UsageError, ValueError):
    """A value given (flag, storage name, size) is not one that can be used."""


class UnknownNameError(UsageError, KeyError):
    """A name given (scene, channel, topic) is not in the data."""


class MissingPathError(UsageError, FileNotFoundError):
    """A path given does not exist (or is not the kind of file or folder asked for)."""


class ExistingPathError(UsageError, FileExistsError):
    """An output path given exists already and would be overwritten."""


class JobError(UserError):
    """The job started but cannot finish (bad data, full disk, divergence): exit 1."""

    exit_code = EXIT_FAILED


_OS_REASONS = {
    errno.ENOSPC: ("disk full", "free some space or write somewhere else"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write somewhere else"),
    errno.EFBIG: ("file too large for this file system or limit", None),
    errno.EROFS: ("read-only file system", "choose a writable output folder"),
    errno.EACCES: ("permission denied", "check the permissions or choose another folder"),
    errno.EPERM: ("operation not permitted", "check the permissions or choose another folder"),
    errno.ENOENT: ("no such file or directory", None),
    errno.ENOTDIR: ("a path component is not a folder", None),
    errno.EISDIR: ("is a folder, not a file", None),
}


def describe_os_error(error: OSError) -> UserError:
    """An OSError as a one-line UserError naming its path ('disk full', 'read-only ...')."""
    if error.errno is None:  # raised by code with a message of its own, naming the path
        named = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError)
        return (UsageError if isinstance(error, named) else JobError)(str(error))
    reason, hint = _OS_REASONS.get(error.errno, (error.strerror or str(error), None))
    where = error.filename if error.filename is not None else "(no path given by the system)"
    if error.filename2 is not None:
        where = f"{where} -> {error.filename2}"
    return JobError(f"{reason}: {where}", hint=hint)


def _report(command: str, error: UserError) -> None:
    lines = [line for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    print(f"lircdepth {command}: error: {lines[0]}", file=sys.stderr)
    if error.hint:
        print(f"hint: {error.hint}", file=sys.stderr)


def run_command(command: str, job: Callable[[], int | None], debug: bool = False) -> int:
    """Run `job`, mapping every way it can end to one stderr line and a documented exit code."""
    try:
        return int(job() or 0)
    except UserError as error:
        if debug:
            traceback.print_exc()
        _report(command, error)
        return error.exit_code
    except OSError as error:
        if debug:
            traceback.print_exc()
        _report(command, describe_os_error(error))
        return EXIT_FAILED
    except Terminated:
        if debug:
            traceback.print_exc()
        print(f"lircdepth {command}: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"lircdepth {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print(
            f"lircdepth {command}: internal error (a bug in lircdepth, please report it "
            "with the traceback above)",
            file=sys.stderr,
        )
        return EXIT_FAILED
