"""Errors about postgresql.conf lines, and ``Setting``, one setting line as the server lists it.

Private helper of ``config``, which re-exports every name here.
"""

from __future__ import annotations

from typing import NamedTuple

from ._errors import LineError


class ConfigError(LineError):
    """A configuration file PostgreSQL would reject.

    The server applies nothing from a file while it has an error, so neither do we.
    Attributes: ``reason`` (what is wrong), ``path`` (``None`` for lines not read from a
    file), ``lineno`` (1-based, ``None`` when unknown) and ``line`` (the text, no line end).
    """

    hint = "Fix the line or comment it out"

    def __str__(self) -> str:
        text = f"{self.where()}: {self.reason}"
        if self.line is not None:
            text += f" (line: {self.line!r})"
        return f"{text}. {self.hint}: PostgreSQL applies nothing from a file with an error."


class ConfigSyntaxError(ConfigError):
    """A line the server's scanner rejects (bad name, no value, two values, bad quoting)."""

    hint = "Write one 'name = value' per line, quoting values with quote_value()"


class ConfigIncludeError(ConfigError):
    """An include directive that fails: missing file, empty name, recursion, depth > 10."""

    hint = "Fix the include directive (paths are relative to the including file)"


class Setting(NamedTuple):
    """One setting line, as the server lists it in ``pg_file_settings``."""

    name: str  # as written (not lower-cased)
    value: str  # unquoted and unescaped
    path: str | None  # absolute path of the file, None for lines given directly
    lineno: int  # 1-based line number
