"""A test's share of the server logs: where it begins, and the lines written since.

Each test that uses a cluster leaves a `LogMark` (log file, size) in its item's stash; a
failing test's report shows the lines written after its marks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

__all__ = ["LOG_KEY", "LogMark", "log_text", "mark_of"]

#: At most this much of each log is shown in one report.
_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class LogMark:
    """Where a test's share of a server log begins."""

    path: str
    offset: int


LOG_KEY = pytest.StashKey[list[LogMark]]()


def mark_of(log_path: str) -> LogMark:
    """A mark at the end of the log as it is now."""
    try:
        size = os.path.getsize(log_path)
    except OSError:
        size = 0
    return LogMark(log_path, size)


def log_text(marks: list[LogMark]) -> str:
    """The server log lines written since each mark (a test's share of the logs)."""
    parts = []
    for mark in marks:
        try:
            with open(mark.path, "rb") as fo:
                fo.seek(mark.offset)
                data = fo.read(_MAX_BYTES)
        except OSError:
            continue
        if data.strip():
            text = data.decode("utf-8", "replace").rstrip()
            parts.append(text if len(marks) == 1 else f"--- {mark.path}\n{text}")
    return "\n".join(parts)
