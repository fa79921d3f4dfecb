"""The plugin's own exceptions, under one root: `PytestBossError`.

Each class is one kind of mistake and carries its facts as attributes; `str()` says what is
wrong and what to do. A test's mistakes (markers, settings, rules, handles) derive from
`BossUsageError`, which the plugin reports as a short message ending in the test's own line.
The core's errors have their own root, `pytest_boss.boss.BossError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = [
    "BossUsageError",
    "ClusterStartError",
    "HbaRuleError",
    "InitdbError",
    "IsolationError",
    "ManagedSettingError",
    "MarkerError",
    "OptionError",
    "PytestBossError",
    "SettingValueError",
    "TemplateLoadError",
    "UnknownSettingError",
]


_SERVER_MESSAGE = re.compile(r"\b(FATAL|PANIC|ERROR|DETAIL|HINT):")


class PytestBossError(Exception):
    """Root of every error the plugin itself raises (not the core's, nor the server's)."""


class BossUsageError(PytestBossError):
    """The test asked for something pytest-boss cannot give."""


class OptionError(PytestBossError, ValueError):
    """An option's value cannot be understood; says which option, where from, and why."""

    def __init__(self, option: str, source: str, value: object, reason: str) -> None:
        self.option = option
        self.source = source
        self.value = value
        self.reason = reason
        super().__init__(f"pytest-boss: {source} {option}={value!r}: {reason}")


class MarkerError(BossUsageError, TypeError):
    """A marker was called with arguments its signature does not accept."""

    def __init__(self, marker: str, signature: str, reason: str) -> None:
        self.marker = marker
        self.signature = signature
        self.reason = reason
        super().__init__(f"@pytest.mark.{marker}: {reason}; the signature is {marker}{signature}")


class UnknownSettingError(BossUsageError, KeyError):
    """A setting name the server does not know (dotted extension names are always allowed)."""

    def __init__(self, name: str, suggestions: Sequence[str], version: str) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        self.version = version
        super().__init__(name)

    def __str__(self) -> str:
        hint = (
            f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else "; see `postgres --describe-config` for the known names"
        )
        return f"unknown PostgreSQL setting {self.name!r} ({self.version}){hint}"


class SettingValueError(BossUsageError, ValueError):
    """The server rejects a value for a setting; `message` is the server's own words."""

    def __init__(self, name: str, value: str, message: str) -> None:
        self.name = name
        self.value = value
        self.message = message
        super().__init__(f"PostgreSQL rejects {name} = {value!r}: {message}")


class ManagedSettingError(BossUsageError, ValueError):
    """A setting pytest-boss owns (files, port, sockets) or one no file can set."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"the setting {name!r} cannot be set by a test: {reason}")


class HbaRuleError(BossUsageError, ValueError):
    """A pg_hba.conf rule PostgreSQL would reject; `message` says why."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        self.message = message
        super().__init__(f"PostgreSQL rejects the pg_hba.conf rule {rule!r}: {message}")


class ClusterStartError(BossUsageError):
    """The server refuses to start with this test's settings (each valid on its own)."""

    def __init__(self, settings: Mapping[str, str], log_tail: str) -> None:
        self.settings = dict(settings)
        self.log_tail = log_tail
        shown = ", ".join(f"{k}={v!r}" for k, v in self.settings.items()) or "no settings"
        lines = [line for line in log_tail.splitlines() if _SERVER_MESSAGE.search(line)]
        said = "\n".join(lines or log_tail.splitlines()[-5:])
        super().__init__(
            f"PostgreSQL does not start with {shown}; change these settings. The server said:\n"
            f"{said}"
        )


class InitdbError(BossUsageError):
    """initdb refuses this test's pg_init options; `output` is what it printed."""

    def __init__(self, options: Mapping[str, object], output: str) -> None:
        self.options = dict(options)
        self.output = output
        shown = ", ".join(f"{k}={v!r}" for k, v in self.options.items()) or "no options"
        super().__init__(f"initdb fails with {shown}; change the pg_init options:\n{output}")


class TemplateLoadError(BossUsageError):
    """Filling pg_database's template failed; `source` names the file or callable."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message
        super().__init__(
            f"loading the template database from {source!r} failed: {message}; fix it, or the "
            "pg_template ini key / pg_template_loader fixture"
        )


class CacheWriteWarning(UserWarning):
    """The template cache could not be written: this run's tests were not affected, but the
    next run builds the entry again (initdb) until the folder can be written."""


class IsolationError(PytestBossError):
    """A test left state behind on a shared cluster (`--pg-isolation=check`): the list of
    what it left, which was repaired before the next test."""

    def __init__(self, summary: str) -> None:
        self.summary = summary
        super().__init__(
            f"pytest-boss: this test left state behind on the shared cluster; {summary}. "
            "Clean up in the test or a fixture, or use pg_database / pg_cluster_factory for "
            "state of its own (--pg-isolation=repair repairs without failing)"
        )
