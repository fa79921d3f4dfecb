"""What a failing test's report shows: the user's own frames of a mistake, and the server log.

A mistake the plugin reports (`BossUsageError`: a bad marker, setting, value or rule; a
machine without PostgreSQL) says what to do in its message, so the report keeps only the
frames of the user's code: the line that asked, not the plugin's internals below it. With
no user frame (a marker applied at setup), the report is the message alone, and its first
line is what the short test summary shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import _pytest
import pluggy
import pytest

from .boss.installation import InstallationError
from .errors import BossUsageError
from .logs import LOG_KEY, log_text

__all__ = ["add_server_log", "shorten_usage_error"]

_PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_INTERNALS = tuple(
    os.path.dirname(os.path.abspath(module.__file__ or "")) + os.sep
    for module in (pytest, _pytest, pluggy)
)


def _before_the_plugin() -> Callable[[Any], bool]:
    """A traceback filter keeping the user's frames above the first frame of the plugin
    below them (what the plugin called, the standard library's included, is not theirs;
    the plugin's hook wrappers above the user's code are not shown either)."""
    inside = False
    seen_user = False

    def keep(entry: Any) -> bool:
        nonlocal inside, seen_user
        path = str(entry.path)
        if path.startswith(_PLUGIN_DIR):
            inside = inside or seen_user
            return False
        if inside or path.startswith(_INTERNALS):
            return False
        seen_user = True
        return True

    return keep


def shorten_usage_error(
    item: pytest.Item, report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException]
) -> None:
    """Replace the report of a usage error by the user's frames and the message."""
    if not isinstance(excinfo.value, (BossUsageError, InstallationError)):
        return
    own = excinfo.traceback.filter(_before_the_plugin())
    if own:
        excinfo.traceback = own
        style = item.config.getoption("tbstyle", "auto")
        report.longrepr = excinfo.getrepr(
            funcargs=True,
            showlocals=bool(item.config.getoption("showlocals", False)),
            style="long" if style in ("auto", None) else style,
            tbfilter=False,  # pytest's own filter would put the plugin's frames back
        )
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None:  # the short summary: the class's own name, then the message
            crash.message = _message(excinfo.value)
    else:
        report.longrepr = _message(excinfo.value)


def _message(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def add_server_log(item: pytest.Item, report: pytest.TestReport) -> None:
    """A failing test's share of the server logs, as a report section."""
    marks = item.stash.get(LOG_KEY, None)
    if marks:
        text = log_text(marks)
        if text:
            report.sections.append(("PostgreSQL server log", text))
