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
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, NamedTuple

from . import _config_alter as alter
from ._atomic import atomic_write_text
from ._config_alter import DELETE, Change
from ._config_lex import NAME, lower, parse_active, parse_commented, strip_eol
from ._config_lex import lexer as _lexer
from ._config_quote import ENCODING, ENCODING_ERRORS, Value, quote_value, render, unquote
from ._config_typed import Typed, kind_of, typed
from ._errors import LineError

__all__ = [
    "DELETE",
    "ENCODING",
    "ENCODING_ERRORS",
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

#: Include depth PostgreSQL allows (``CONF_FILE_MAX_DEPTH``); the main file is depth 0.
MAX_INCLUDE_DEPTH = 10

#: The names that are directives, not settings.
INCLUDE_DIRECTIVES = ("include", "include_dir", "include_if_exists")


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


def _physical_lines(text: str) -> list[str]:
    """Lines with their ends, split at ``\\n`` only (a lone CR is a blank to the server)."""
    if not text:
        return []
    parts = text.split("\n")
    result = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        result.append(parts[-1])
    return result


def _input_lines(lines: Iterable[str] | str) -> tuple[list[str], bool]:
    """Physical lines of the input, and whether they carry their line ends.

    A string is a whole file. Items of an iterable (a file object, ``readlines()``) are
    joined and split again at ``\\n``, because Python's text files also split at a lone CR,
    which the server reads as a blank. Several items none of which holds a ``\\n`` (e.g.
    from ``str.splitlines()``) are taken as one line each, without ends.
    """
    if isinstance(lines, str):
        return _physical_lines(lines), True
    read = getattr(lines, "read", None)
    if callable(read):
        return _physical_lines(read()), True
    items = list(lines)
    if len(items) > 1 and not any("\n" in item for item in items):
        return items, False
    return _physical_lines("".join(items)), True


def _settings(lines: list[str], path: str | None) -> Iterator[Setting]:
    """Every live setting line in order, include directives included (as settings)."""
    lexer = _lexer("=", "#", "'")
    for lineno, line in enumerate(lines, 1):
        text = strip_eol(line)
        result = parse_active(text, lexer)
        if result is None:
            continue
        if isinstance(result, str):
            raise ConfigSyntaxError(result, path, lineno, text)
        key, value = result
        yield Setting(text[key], unquote(text[value]), path, lineno)


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
    for setting in _settings(_input_lines(iter)[0], None):
        name = lower(setting.name)
        if name in INCLUDE_DIRECTIVES:
            continue
        if selector is None or selector(name):
            result[name] = setting.value
    return result


def _read_lines(path: str) -> list[str]:
    with open(path, encoding=ENCODING, errors=ENCODING_ERRORS, newline="") as fo:
        return _physical_lines(fo.read())


def _absolute(location: str, calling_file: str) -> str:
    """``AbsoluteConfigLocation``: relative to the including file's folder."""
    if os.path.isabs(location):
        return location
    return os.path.normpath(os.path.join(os.path.dirname(calling_file), location))


def _conf_files_in(directory: str, setting: Setting, text: str) -> list[str]:
    """``GetConfFilesInDir``: ``*.conf`` files not starting with '.', in byte order."""
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ConfigIncludeError(
            f"could not open configuration directory {directory!r}: {exc.strerror}",
            setting.path,
            setting.lineno,
            text,
        ) from exc
    files = []
    for name in names:
        if len(name) < 6 or name.startswith(".") or not name.endswith(".conf"):
            continue
        full = os.path.join(directory, name)
        try:
            if os.path.isdir(full):
                continue
            os.stat(full)
        except OSError as exc:
            raise ConfigIncludeError(
                f"could not stat file {full!r}: {exc.strerror}", setting.path, setting.lineno, text
            ) from exc
        files.append(full)
    files.sort(key=lambda f: f.encode(ENCODING, ENCODING_ERRORS))
    return files


def _include(
    location: str,
    strict: bool,
    setting: Setting,
    text: str,
    depth: int,
) -> Iterator[Setting]:
    """``ParseConfigFile`` for one include directive at ``setting``'s line."""
    assert setting.path is not None
    if location.strip(" \t\r\n") == "":
        raise ConfigIncludeError(
            f"empty configuration file name: {location!r}", setting.path, setting.lineno, text
        )
    if depth > MAX_INCLUDE_DEPTH:
        raise ConfigIncludeError(
            f"could not open configuration file {location!r}: maximum nesting depth "
            f"({MAX_INCLUDE_DEPTH}) exceeded",
            setting.path,
            setting.lineno,
            text,
        )
    path = _absolute(location, setting.path)
    if path == setting.path:
        raise ConfigIncludeError(
            f"configuration file recursion in {setting.path!r}", setting.path, setting.lineno, text
        )
    try:
        lines = _read_lines(path)
    except IsADirectoryError as exc:  # the server opens it, then fails to read it
        raise ConfigIncludeError(
            f"could not read configuration file {path!r}: {exc.strerror}",
            setting.path,
            setting.lineno,
            text,
        ) from exc
    except OSError as exc:
        if not strict:  # include_if_exists: the server skips any file it cannot open
            return
        raise ConfigIncludeError(
            f"could not open configuration file {path!r}: {exc.strerror}",
            setting.path,
            setting.lineno,
            text,
        ) from exc
    yield from _file_settings(path, lines, depth)


def _file_settings(path: str, lines: list[str], depth: int) -> Iterator[Setting]:
    for setting in _settings(lines, path):
        directive = lower(setting.name)
        if directive not in INCLUDE_DIRECTIVES:
            yield setting
            continue
        text = strip_eol(lines[setting.lineno - 1])
        if directive == "include_dir":
            if setting.value.strip(" \t\r\n") == "":
                raise ConfigIncludeError(
                    f"empty configuration directory name: {setting.value!r}",
                    setting.path,
                    setting.lineno,
                    text,
                )
            assert setting.path is not None
            directory = _absolute(setting.value, setting.path)
            for file in _conf_files_in(directory, setting, text):
                yield from _include(file, True, setting, text, depth + 1)
        else:
            yield from _include(setting.value, directive == "include", setting, text, depth + 1)


def file_settings(path: str | os.PathLike[str]) -> list[Setting]:
    """Every setting line of a file and its includes, in the server's order.

    The Python twin of the ``pg_file_settings`` view without its error rows: an error
    raises ``ConfigError`` instead. ``path`` is made absolute (symbolic links are kept, as
    the server does); includes are resolved relative to the including file. A missing
    top-level file raises ``FileNotFoundError``.
    """
    top = os.path.abspath(os.fspath(path))
    return list(_file_settings(top, _read_lines(top), 0))


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
    physical, with_ends = _input_lines(fo)
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
    old = _read_lines(target)
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
