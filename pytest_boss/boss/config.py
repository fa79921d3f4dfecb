"""postgresql.conf as PostgreSQL reads it: lexer, reader, writer and structure-keeping editor.

The rules are those of the server's own scanner (``guc-file.l``) and include handling
(``conffiles.c``), not those of INI or shell parsers:

- One setting per line: ``name [=] value``; the ``=`` is optional. Blanks are space, tab
  and carriage return (so CRLF files work, and a lone CR is a blank, not a line end).
  There is no line continuation.
- A name is an identifier (letters, digits, ``_``, any non-ASCII byte; not starting with a
  digit) with at most one dot (``auto_explain.log_min_duration``). Names are
  case-insensitive (ASCII only, like ``guc_name_compare``).
- The value is exactly one token: an identifier, an integer with optional unit letters
  (``4MB``, ``-1``, ``0x1F``), a real (``1.5``, ``.5``, ``1.0e-3``), an unquoted string
  (a letter, then letters, digits and ``-._:/``) or a single-quoted string. When two
  token rules match equally long text, the earlier one wins, so ``abc.def`` is a
  qualified name and *not* a value, while ``abc.def/x`` is an unquoted string.
- In a quoted string ``''`` is a quote and a backslash escapes: ``\\b \\f \\n \\r \\t``, up to
  three octal digits (one byte; a zero byte ends the value), anything else stands for
  itself. A raw newline cannot be inside a string.
- ``#`` starts a comment anywhere outside a quoted string.
- ``include``, ``include_if_exists`` and ``include_dir`` are directives processed where
  they stand (see ``read_file``).

Files are read as UTF-8 with ``surrogateescape``: every byte, valid UTF-8 or not, survives a
read and a write unchanged, and non-ASCII bytes count as letters as they do in the server.
A NUL byte is read as the server reads it: inside a comment it is nothing special,
outside quotes it is a syntax error, and inside a quoted value it ends the value one
character early (``'ab<NUL>cd'`` is ``a``: the server's C string ends at the NUL and it
drops the last character as the closing quote).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import IO

from . import _config_alter as alter
from ._atomic import atomic_write_text
from ._config_alter import DELETE, Change
from ._config_errors import ConfigError, ConfigIncludeError, ConfigSyntaxError, Setting
from ._config_files import (
    INCLUDE_DIRECTIVES,
    MAX_INCLUDE_DEPTH,
    file_settings,
    input_lines,
    read_lines,
    settings,
)
from ._config_lex import NAME, lower, parse_active, parse_commented, strip_eol
from ._config_lex import lexer as _lexer
from ._config_quote import ENCODING, ENCODING_ERRORS, Value, quote_value, render, unquote
from ._config_typed import Typed, kind_of, typed

__all__ = [
    "DELETE",
    "ENCODING",
    "ENCODING_ERRORS",
    "INCLUDE_DIRECTIVES",
    "MAX_INCLUDE_DEPTH",
    "ConfigError",
    "ConfigIncludeError",
    "ConfigSyntaxError",
    "Setting",
    "Value",
    "alter_config",
    "alter_file",
    "comment",
    "file_settings",
    "parse_line",
    "quote",
    "quote_value",
    "read_config",
    "read_file",
    "render",
    "setting_type",
    "typed_value",
    "unquote",
    "write_config",
]

#: The comment character of postgresql.conf (the seed's module data).
comment = "#"
#: The quote character of postgresql.conf values (the seed's module data; the function
#: that quotes a value is ``quote_value``).
quote = "'"


def parse_line(
    line: str, equality: str = "=", comment: str = "#", quote: str = "'"
) -> tuple[slice, slice] | None:
    """Return ``(key_slice, value_slice)`` into ``line``, or ``None``.

    ``None`` means a blank line or a comment that is not a commented-out setting. A
    commented-out setting (``#work_mem = 4MB  # min 64kB``: comment characters, then a
    valid line *with* the ``=``, so prose like ``# plain comment`` is not one) is returned
    like a live one: the caller tells them apart by the comment character before the key.
    The value slice covers the raw token (quotes included; ``unquote`` it). A live line the
    server would reject raises ``ConfigSyntaxError`` (without path and line number: add them).
    """
    text = strip_eol(line)
    if "\n" in text:
        raise ValueError("parse_line takes one line; split the text at '\\n' first")
    lexer = _lexer(equality, comment, quote)
    result = parse_active(text, lexer)
    if result is None:
        return parse_commented(text, lexer)
    if isinstance(result, str):
        raise ConfigSyntaxError(result, line=text)
    return result


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(
            f"{name!r} is not a setting name PostgreSQL can read: letters, digits and '_', "
            "not starting with a digit, with at most one dot"
        )
    if lower(name) in INCLUDE_DIRECTIVES:
        raise ValueError(f"{name!r} is an include directive, not a setting")
    return lower(name)


# -- reading --------------------------------------------------------------------------------


def read_config(
    iter: Iterable[str] | str,
    d: dict[str, str] | None = None,
    selector: Callable[[str], bool] | None = None,
) -> dict[str, str]:
    """The effective settings of ``iter``: lower-cased names, unquoted values, last wins.

    ``iter`` is a file object, a list of lines or the whole text. ``d`` is updated and
    returned when given. ``selector(name)`` (lower-cased name) keeps a setting when true.
    Include directives are skipped: there is no file to be relative to (use
    ``read_file``). A line the server would reject raises ``ConfigSyntaxError``.
    """
    result: dict[str, str] = {} if d is None else d
    for setting in settings(input_lines(iter)[0], None):
        name = lower(setting.name)
        if name in INCLUDE_DIRECTIVES:
            continue
        if selector is None or selector(name):
            result[name] = setting.value
    return result


def read_file(
    path: str | os.PathLike[str],
    d: dict[str, str] | None = None,
    selector: Callable[[str], bool] | None = None,
) -> dict[str, str]:
    """The effective settings of a file with its includes, as ``read_config`` returns them.

    ``include`` (missing file: error), ``include_if_exists`` (missing: skipped) and
    ``include_dir`` (its ``*.conf`` files not starting with '.', in C-locale order) are
    followed where they stand, relative to the including file, at most 10 levels deep.
    """
    result: dict[str, str] = {} if d is None else d
    for setting in file_settings(path):
        name = lower(setting.name)
        if selector is None or selector(name):
            result[name] = setting.value
    return result


# -- writing --------------------------------------------------------------------------------


def _write_function(writer: Callable[[str], object] | IO[str]) -> Callable[[str], object]:
    write = getattr(writer, "write", None)
    if callable(write):
        return write  # type: ignore[no-any-return]
    if callable(writer):
        return writer
    raise TypeError(f"writer must be a callable or have a write method, not {writer!r}")


def write_config(
    map: Mapping[str, Value | None],
    writer: Callable[[str], object] | IO[str],
    keys: Iterable[str] | None = None,
    *,
    comments: Mapping[str, str] | None = None,
) -> None:
    """Write ``name = value`` lines (strings quoted with ``quote_value``) for ``keys`` of ``map``.

    ``writer`` is a file object or a ``write``-like callable. ``keys`` picks and orders the
    names (default: all, in the mapping's order); ``None`` values are skipped.
    ``comments`` maps names to a trailing comment for their line (``# `` added if missing).
    """
    write = _write_function(writer)
    notes = comments or {}
    for key in map.keys() if keys is None else keys:
        _check_name(key)
        value = map[key]
        if value is not None:
            note = alter.comment_text(notes.get(key))
            write(f"{key} = {render(value)}" + (f"  {note}" if note else "") + "\n")


def _line_end(lines: list[str]) -> str:
    for line in lines:
        if line.endswith("\n"):
            return "\r\n" if line.endswith("\r\n") else "\n"
    return "\n"


def alter_config(
    map: Mapping[str, Change],
    fo: Iterable[str] | str,
    keys: Iterable[str] | None = None,
    *,
    comments: Mapping[str, str] | None = None,
) -> list[str]:
    """The lines of ``fo`` with ``map``'s settings applied, changing only what must change.

    For each name (``keys`` picks and orders them; default: all of ``map``):

    - a live line is rewritten in place: only its value token changes, so its spacing and
      trailing comment stay; earlier live duplicates are commented out (``#`` prepended);
    - else the last commented-out line for it (``#work_mem = 4MB  # min 64kB``) is
      uncommented with the new value;
    - else ``name = value`` is appended (with the file's line end);
    - ``None`` comments out every live line for it; ``DELETE`` removes them outright
      (commented-out lines, which document the default, stay).

    ``comments`` maps names given a value to a trailing comment for the line that carries
    it (``# `` added if missing; it replaces the line's old comment). Names match
    case-insensitively. Strings are written with ``quote_value``, booleans as ``on``/``off``,
    numbers bare. Every other line is returned byte for byte; the result joined with ``''``
    is the new file (lines given without ends come back without ends). A line the server
    would reject raises ``ConfigSyntaxError`` (with its line number).
    """
    physical, with_ends = input_lines(fo)
    names = [(key, _check_name(key)) for key in (map.keys() if keys is None else keys)]
    notes = comments or {}
    alter.check_comments(map, notes)
    found = alter.classify(physical, {name for _, name in names}, _lexer("=", "#", "'"))
    if not isinstance(found[0], list):
        lineno, reason, text = found
        raise ConfigSyntaxError(str(reason), None, int(lineno), str(text))
    lines, by_name = found
    assert isinstance(by_name, dict)
    line_end = _line_end(physical) if with_ends else ""
    for key, name in names:
        note = alter.comment_text(notes.get(key))
        alter.apply(lines, by_name.setdefault(name, []), key, map[key], note, line_end)
    return [line.text for line in lines if line.text]


def alter_file(
    path: str | os.PathLike[str],
    map: Mapping[str, Change],
    keys: Iterable[str] | None = None,
    *,
    comments: Mapping[str, str] | None = None,
) -> list[str]:
    """``alter_config`` on a file, replacing it atomically (mode and owner kept).

    Returns the new lines. The file is not rewritten when nothing changes. Errors carry
    the file's path.
    """
    target = os.fspath(path)
    old = read_lines(target)
    try:
        new = alter_config(map, old, keys, comments=comments)
    except ConfigError as exc:
        exc.path = os.path.abspath(target)
        raise
    if new != old:
        atomic_write_text(target, "".join(new), encoding=ENCODING, errors=ENCODING_ERRORS)
    return new


# -- typed values ---------------------------------------------------------------------------


def setting_type(name: str, version: int | None = None) -> tuple[str, str]:
    """(vartype, unit) of a built-in setting, as ``pg_settings`` shows them, without a server.

    ``vartype`` is ``bool``, ``integer``, ``real``, ``enum`` or ``string``; ``unit`` is the
    base unit of a number (``kB``, ``8kB``, ``MB``, ``B``, ``ms``, ``s``, ``min``) or
    ``''``. A name with a dot (an extension's setting) is a ``string``. ``version`` (a
    major number) selects an older release's type where it differs. ``KeyError`` for a
    name PostgreSQL does not know.
    """
    return kind_of(name, version)


def typed_value(
    name: str,
    value: str,
    vartype: str | None = None,
    unit: str | None = None,
    *,
    version: int | None = None,
) -> Typed:
    """``value`` (as ``read_config`` gives it) typed as the server reads it for ``name``.

    ``bool`` for booleans (``on``, ``yes``, ``t``, ``1`` ...); ``int`` in the setting's
    base unit for integers (``'1.5MB'`` of ``work_mem`` is 1536, in kB; hex and octal
    accepted; rounded half to even), ``float`` for reals (units converted too), the
    value's own spelling for enums (matched case-insensitively), ``str`` otherwise. These
    are the numbers ``pg_settings.setting`` and ``postgres -C`` show. ``vartype`` and
    ``unit`` default to ``setting_type(name, version)``. ``ValueError`` for a value the
    server cannot parse; the setting's range (``postgres --describe-config``) is not checked.
    """
    if vartype is None:
        vartype, table_unit = kind_of(name, version)
        unit = table_unit if unit is None else unit
    return typed(name, value, vartype, unit or "")
