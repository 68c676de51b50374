"""A bag is checked when it is opened, and its messages are counted as they are read.

`check_bag` reads metadata.yaml and opens the storage once: garbage metadata, a storage
file it names but that is missing, a truncated sqlite3 or MCAP file each end in one line
naming the bag. `MessageTally` wraps `Reader.messages`: a storage error half-way is one
line too, and messages the reader silently drops (a damaged MCAP record) are counted
against metadata.yaml's per-topic counts, so a player can say what it skipped.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml
from rosbags.rosbag2 import Reader
from rosbags.rosbag2.errors import ReaderError

from lircdepth.errors import MissingPathError, UsageError

# What rosbags raises on a damaged bag (its own error, or a low-level one it lets through).
READ_ERRORS = (
    ReaderError,
    yaml.YAMLError,
    UnicodeDecodeError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    struct.error,
    EOFError,
    AssertionError,
)


class BagError(UsageError, ValueError):
    """A bag given cannot be used (damaged, incomplete, or lacks a topic the job needs).

    A ValueError too: a scorer that skips a frame it cannot score catches it as before."""


def read_metadata(bag: str | Path) -> dict:
    """The `rosbag2_bagfile_information` mapping of a bag's metadata.yaml."""
    path = Path(bag) / "metadata.yaml"
    if not path.is_file():
        raise MissingPathError(f"{bag} is not a ROS 2 bag directory (no metadata.yaml)")
    try:
        info = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise BagError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from error
    info = info.get("rosbag2_bagfile_information") if isinstance(info, dict) else None
    if not isinstance(info, dict):
        raise BagError(f"{path} has no rosbag2_bagfile_information mapping")
    return info


def check_bag(bag: str | Path) -> None:
    """Raise BagError naming the bag unless its metadata and storage open."""
    bag = Path(bag)
    info = read_metadata(bag)
    files = info.get("relative_file_paths")
    if isinstance(files, list):
        missing = [str(bag / f) for f in files if isinstance(f, str) and not (bag / f).is_file()]
        if missing:
            raise BagError(
                f"bag {bag}: storage file {missing[0]} named in metadata.yaml is missing"
            )
    try:
        with Reader(bag):
            pass
    except READ_ERRORS as error:
        raise BagError(f"bag {bag} cannot be read (damaged or truncated?): {error}") from error


def require_topics(bag: Path, reader: Reader, topics: Sequence[str], why: str) -> None:
    """BagError naming the topics of `topics` the bag does not record (needed for `why`)."""
    recorded = {c.topic for c in reader.connections}
    missing = [t for t in topics if t not in recorded]
    if missing:
        raise BagError(
            f"bag {bag} has no {', '.join(missing)} ({why}; it records: "
            f"{', '.join(sorted(recorded)) or 'nothing'})"
        )


class MessageTally:
    """Messages read per connection, to compare with what metadata.yaml says was recorded."""

    def __init__(self, bag: str | Path) -> None:
        self.bag = Path(bag)
        self.read: Counter = Counter()

    def messages(self, reader: Reader, connections: list) -> Iterator:
        """`reader.messages(connections=...)`, counting, with a storage error as one line."""
        iterator = reader.messages(connections=connections)
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                return
            except READ_ERRORS as error:
                raise BagError(
                    f"bag {self.bag} is damaged after {sum(self.read.values())} messages: {error}"
                ) from error
            self.read[item[0].id] += 1
            yield item

    def skipped(self, connections: list) -> str | None:
        """'N of M messages (...) could not be read' when fewer came than were recorded."""
        short = {
            c.topic: (c.msgcount - self.read[c.id], c.msgcount)
            for c in connections
            if c.msgcount > self.read[c.id]
        }
        if not short:
            return None
        lost = sum(n for n, _ in short.values())
        total = sum(c.msgcount for c in connections)
        topics = ", ".join(f"{t} {n} of {m}" for t, (n, m) in sorted(short.items()))
        return (
            f"bag {self.bag}: {lost} of {total} recorded messages could not be read and were "
            f"skipped (damaged storage file?): {topics}"
        )
