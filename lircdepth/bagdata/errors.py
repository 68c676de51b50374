"""The one-line errors of the bag reader; each names the bag (and topic) it is about."""

from __future__ import annotations

from lircdepth.errors import JobError


class BagDataError(JobError, ValueError):
    """A bag's content cannot be read as asked (bad message, bad cloud layout): exit 1."""


class MissingTopicError(JobError, KeyError):
    """The bag lacks a topic, a frame or a transform the job needs: exit 1."""
