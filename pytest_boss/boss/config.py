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
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, NamedTuple, Union

from ._atomic import atomic_write_text
from ._errors import LineError

__all__ = [
    "ConfigError",
    "ConfigIncludeError",
    "ConfigSyntaxError",
    "Setting",
    "Value",
    "alter_config",
    "alter_file",
    "file_settings",
    "parse_line",
    "quote",
    "read_config",
    "read_file",
    "render",
    "unquote",
    "write_config",
]

#: The values ``alter_config`` and ``write_config`` accept; ``None`` means "comment out".
Value = Union[str, bool, int, float]

#: Include depth PostgreSQL allows (``CONF_FILE_MAX_DEPTH``); the main file is depth 0.
MAX_INCLUDE_DEPTH = 10

#: The names that are directives, not settings.
INCLUDE_DIRECTIVES = ("include", "include_dir", "include_if_exists")

ENCODING = "utf-8"
ENCODING_ERRORS = "surrogateescape"


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

    hint = "Write one 'name = value' per line, quoting values with quote()"


class ConfigIncludeError(ConfigError):
    """An include directive that fails: missing file, empty name, recursion, depth > 10."""

    hint = "Fix the include directive (paths are relative to the including file)"


class Setting(NamedTuple):
    """One setting line, as the server lists it in ``pg_file_settings``."""

    name: str  # as written (not lower-cased)
    value: str  # unquoted and unescaped
    path: str | None  # absolute path of the file, None for lines given directly
    lineno: int  # 1-based line number


# -- lexer ----------------------------------------------------------------------------------

# Token kinds, in the priority order of guc-file.l (earlier wins a tie in length).
ID = "ID"
QUALIFIED_ID = "QUALIFIED_ID"
STRING = "STRING"
UNQUOTED_STRING = "UNQUOTED_STRING"
INTEGER = "INTEGER"
REAL = "REAL"
EQUALS = "EQUALS"
ERROR = "ERROR"

NAME_TOKENS = (ID, QUALIFIED_ID)
VALUE_TOKENS = (ID, STRING, INTEGER, REAL, UNQUOTED_STRING)

# Letters are A-Z, a-z, _ and every non-ASCII character, as in guc-file.l. Written as the
# ASCII characters they exclude: a class spanning U+0080-U+10FFFF costs `re` about 3 ms to
# compile, on the path to every test's first cluster; this form matches the same characters.
_LETTER = r"^\x00-\x40\x5b-\x5e\x60\x7b-\x7f"
_LETTER_OR_DIGIT = r"^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f"
_UNQUOTED_CHAR = r"^\x00-\x2c\x3b-\x40\x5b-\x5e\x60\x7b-\x7f"  # and - . / :
_ID = f"[{_LETTER}][{_LETTER_OR_DIGIT}]*"
_BLANK = re.compile(r"[ \t\r]*")
_NAME = re.compile(rf"{_ID}(?:\.{_ID})?\Z")


class _Lexer:
    """Longest-match tokenizer with the server's rule priorities, for given special chars."""

    def __init__(self, equality: str, comment: str, quote: str) -> None:
        self.equality = equality
        self.comment = comment
        q = re.escape(quote)
        nl = "\\n"
        # Python's alternation is not longest-match: INTEGER is split into its two forms.
        self.rules: list[tuple[str, re.Pattern[str]]] = [
            (ID, re.compile(_ID)),
            (QUALIFIED_ID, re.compile(rf"{_ID}\.{_ID}")),
            (STRING, re.compile(rf"{q}(?:[^{q}\\{nl}]|\\[^{nl}]|{q}{q})*{q}")),
            (UNQUOTED_STRING, re.compile(rf"[{_LETTER}][{_UNQUOTED_CHAR}]*")),
            (INTEGER, re.compile(r"[-+]?[0-9]+[A-Za-z]*")),
            (INTEGER, re.compile(r"[-+]?0x[0-9a-fA-F]+[A-Za-z]*")),
            (REAL, re.compile(r"[-+]?[0-9]*\.[0-9]*(?:[Ee][-+]?[0-9]+)?")),
        ]

    def tokens(self, line: str, pos: int = 0) -> Iterator[tuple[str, int, int]]:
        """Yield ``(kind, start, end)`` up to the end of the line or a comment."""
        end_of_line = len(line)
        while True:
            blank = _BLANK.match(line, pos)
            assert blank is not None
            pos = blank.end()
            if pos >= end_of_line or line.startswith(self.comment, pos):
                return
            if line.startswith(self.equality, pos):
                best_kind, best_end = EQUALS, pos + len(self.equality)
            else:
                best_kind, best_end = ERROR, pos + 1
                best_len = 0
                for kind, pattern in self.rules:
                    match = pattern.match(line, pos)
                    if match is not None and match.end() - pos > best_len:
                        best_kind, best_end, best_len = kind, match.end(), match.end() - pos
            yield best_kind, pos, best_end
            pos = best_end


_LEXERS: dict[tuple[str, str, str], _Lexer] = {}


def _lexer(equality: str, comment: str, quote: str) -> _Lexer:
    key = (equality, comment, quote)
    lexer = _LEXERS.get(key)
    if lexer is None:
        lexer = _LEXERS[key] = _Lexer(equality, comment, quote)
    return lexer


def _strip_eol(line: str) -> str:
    return line[:-1] if line.endswith("\n") else line


def _parse_active(line: str, lexer: _Lexer, pos: int = 0) -> tuple[slice, slice] | str | None:
    """Parse a live line: the slices, ``None`` for blank or comment, or an error message."""
    tokens = lexer.tokens(line, pos)
    first = next(tokens, None)
    if first is None:
        return None
    kind, start, end = first
    if kind not in NAME_TOKENS:
        return f"syntax error near token {line[start:end]!r}"
    key = slice(start, end)
    token = next(tokens, None)
    if token is not None and token[0] == EQUALS:
        token = next(tokens, None)
    if token is None:
        return "syntax error near end of line (no value)"
    kind, start, end = token
    if kind not in VALUE_TOKENS:
        return f"syntax error near token {line[start:end]!r}"
    value = slice(start, end)
    extra = next(tokens, None)
    if extra is not None:
        kind, start, end = extra
        return f"syntax error near token {line[start:end]!r} (one value per line)"
    return key, value


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
    text = _strip_eol(line)
    if "\n" in text:
        raise ValueError("parse_line takes one line; split the text at '\\n' first")
    lexer = _lexer(equality, comment, quote)
    result = _parse_active(text, lexer)
    if result is None:
        return _parse_commented(text, lexer)
    if isinstance(result, str):
        raise ConfigSyntaxError(result, line=text)
    return result


def _parse_commented(text: str, lexer: _Lexer) -> tuple[slice, slice] | None:
    """Slices of a setting behind leading comment characters, else ``None``."""
    blank = _BLANK.match(text)
    assert blank is not None
    pos = blank.end()
    if not text.startswith(lexer.comment, pos):
        return None
    while text.startswith(lexer.comment, pos):
        pos += len(lexer.comment)
    result = _parse_active(text, lexer, pos)
    if result is None or isinstance(result, str):
        return None
    # Prose such as "# plain comment" lexes as a setting too: ask for the '='.
    if not text[result[0].stop : result[1].start].strip(" \t\r").startswith(lexer.equality):
        return None
    return result


# -- quoting --------------------------------------------------------------------------------

_QUOTE_TABLE = {ord("\\"): "\\\\", ord("'"): "''", ord("\n"): "\\n", ord("\r"): "\\r"}
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_OCTAL = re.compile(r"[0-7]{1,3}")


def quote(value: str) -> str:
    """A single-quoted literal that PostgreSQL reads back as exactly ``value``.

    Doubles ``'`` and ``\\``; writes newline and carriage return as ``\\n`` and ``\\r``
    (a raw newline cannot be inside a string, and a raw CR would be fragile). A NUL
    character cannot be stored in a setting: ``ValueError``.
    """
    if "\0" in value:
        raise ValueError(f"a setting cannot hold a NUL character: {value!r}")
    return "'" + value.translate(_QUOTE_TABLE) + "'"


def unquote(token: str, quote: str = "'") -> str:
    """The value a token stands for: quoted strings lose quotes and escapes, others unchanged.

    Escapes follow the server's ``DeescapeQuotedString``: ``''`` and ``\\'`` are a quote,
    ``\\b \\f \\n \\r \\t``, one to three octal digits give one byte (values above 255 wrap,
    and a zero byte ends the value), any other escaped character stands for itself.
    """
    if len(token) < 2 or not token.startswith(quote) or not token.endswith(quote):
        return token
    body = token[len(quote) : -len(quote)]
    out: list[str] = []
    raw_bytes = False
    i = 0
    n = len(body)
    while i < n:
        char = body[i]
        if char == "\\" and i + 1 < n:
            escaped = body[i + 1]
            octal = _OCTAL.match(body, i + 1)
            if octal is not None:
                byte = int(octal.group(), 8) & 0xFF
                if byte >= 0x80:
                    # One raw byte: kept as surrogateescape so UTF-8 sequences reassemble.
                    out.append(chr(0xDC00 + byte))
                    raw_bytes = True
                else:
                    out.append(chr(byte))
                i = octal.end()
                continue
            out.append(_SIMPLE_ESCAPES.get(escaped, escaped))
            i += 2
        elif body.startswith(quote + quote, i):
            out.append(quote)
            i += 2 * len(quote)
        else:
            out.append(char)
            i += 1
    value = "".join(out)
    if raw_bytes:
        value = value.encode(ENCODING, ENCODING_ERRORS).decode(ENCODING, ENCODING_ERRORS)
    nul = value.find("\0")
    return value if nul < 0 else value[:nul]


def render(value: Value) -> str:
    """A value as a token: strings quoted, booleans ``on``/``off``, numbers bare."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return quote(repr(value))
        text = repr(value)
        if "." not in text:  # '1e-05' would read as the integer '1e' and another token
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}.0e{exponent}" if exponent else f"{mantissa}.0"
        return text
    if isinstance(value, str):
        return quote(value)
    raise TypeError(
        f"a setting value must be str, int, float or bool (or None to comment it out), "
        f"not {type(value).__name__}: {value!r}"
    )


def _lower(name: str) -> str:
    """ASCII-only case folding, as the server's ``guc_name_compare``."""
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{name!r} is not a setting name PostgreSQL can read: letters, digits and '_', "
            "not starting with a digit, with at most one dot"
        )
    if _lower(name) in INCLUDE_DIRECTIVES:
        raise ValueError(f"{name!r} is an include directive, not a setting")
    return _lower(name)


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
        text = _strip_eol(line)
        result = _parse_active(text, lexer)
        if result is None:
            continue
        if isinstance(result, str):
            raise ConfigSyntaxError(result, path, lineno, text)
        key, value = result
        yield Setting(text[key], unquote(text[value]), path, lineno)


def read_config(
    lines: Iterable[str] | str,
    d: dict[str, str] | None = None,
    selector: Callable[[str], bool] | None = None,
) -> dict[str, str]:
    """The effective settings of ``lines``: lower-cased names, unquoted values, last wins.

    ``lines`` is a file object, a list of lines or the whole text. ``d`` is updated and
    returned when given. ``selector(name)`` (lower-cased name) keeps a setting when true.
    Include directives are skipped: there is no file to be relative to (use
    ``read_file``). A line the server would reject raises ``ConfigSyntaxError``.
    """
    result: dict[str, str] = {} if d is None else d
    for setting in _settings(_input_lines(lines)[0], None):
        name = _lower(setting.name)
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
        directive = _lower(setting.name)
        if directive not in INCLUDE_DIRECTIVES:
            yield setting
            continue
        text = _strip_eol(lines[setting.lineno - 1])
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
        name = _lower(setting.name)
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
) -> None:
    """Write ``name = value`` lines (strings quoted with ``quote``) for ``keys`` of ``map``.

    ``writer`` is a file object or a ``write``-like callable. ``keys`` picks and orders the
    names (default: all, in the mapping's order); ``None`` values are skipped.
    """
    write = _write_function(writer)
    for key in map.keys() if keys is None else keys:
        _check_name(key)
        value = map[key]
        if value is not None:
            write(f"{key} = {render(value)}\n")


class _Line:
    """One physical line of a file being altered."""

    __slots__ = ("commented", "key", "name", "text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        self.name: str | None = None  # lower-cased setting name, live or commented out
        self.commented = False
        self.key: slice | None = None
        self.value: slice | None = None


def _line_end(lines: list[str]) -> str:
    for line in lines:
        if line.endswith("\n"):
            return "\r\n" if line.endswith("\r\n") else "\n"
    return "\n"


def alter_config(
    map: Mapping[str, Value | None],
    fo: Iterable[str] | str,
    keys: Iterable[str] | None = None,
) -> list[str]:
    """The lines of ``fo`` with ``map``'s settings applied, changing only what must change.

    For each name (``keys`` picks and orders them; default: all of ``map``):

    - a live line is rewritten in place: only its value token changes, so its spacing and
      trailing comment stay; earlier live duplicates are commented out (``#`` prepended);
    - else the last commented-out line for it (``#work_mem = 4MB  # min 64kB``) is
      uncommented with the new value;
    - else ``name = value`` is appended (with the file's line end);
    - ``None`` comments out every live line for it.

    Names match case-insensitively. Strings are written with ``quote``, booleans as
    ``on``/``off``, numbers bare. Every other line is returned byte for byte; the result
    joined with ``''`` is the new file (lines given without ends come back without ends).
    A line the server would reject raises ``ConfigSyntaxError`` (with its line number).
    """
    physical, with_ends = _input_lines(fo)
    names = [(key, _check_name(key)) for key in (map.keys() if keys is None else keys)]
    wanted = {name for _, name in names}
    lexer = _lexer("=", "#", "'")
    lines = [_Line(text) for text in physical]
    for lineno, line in enumerate(lines, 1):
        text = _strip_eol(line.text)
        result = _parse_active(text, lexer)
        if result is None:
            # Only a comment naming a wanted setting can matter: skip lexing the others.
            folded = _lower(text)
            if not any(name in folded for name in wanted):
                continue
            commented = _parse_commented(text, lexer)
            if commented is not None:
                line.key, line.value = commented
                line.commented = True
        elif isinstance(result, str):
            raise ConfigSyntaxError(result, None, lineno, text)
        else:
            line.key, line.value = result
        if line.key is not None:
            line.name = _lower(text[line.key])

    line_end = _line_end(physical) if with_ends else ""
    for key, name in names:
        value = map[key]
        live = [line for line in lines if line.name == name and not line.commented]
        if value is None:
            for line in live:
                _comment_out(line)
            continue
        token = render(value)
        if live:
            for line in live[:-1]:
                _comment_out(line)
            _replace_value(live[-1], token)
            continue
        dormant = [line for line in lines if line.name == name and line.commented]
        if dormant:
            _uncomment(dormant[-1], token)
            continue
        if with_ends and lines and not lines[-1].text.endswith("\n"):
            lines[-1].text += line_end
        new = _Line(f"{key} = {token}{line_end}")
        new.name = name
        new.key = slice(0, len(key))
        new.value = slice(len(key) + 3, len(key) + 3 + len(token))
        lines.append(new)
    return [line.text for line in lines]


def _comment_out(line: _Line) -> None:
    assert line.key is not None and line.value is not None
    line.text = "#" + line.text
    line.key = slice(line.key.start + 1, line.key.stop + 1)
    line.value = slice(line.value.start + 1, line.value.stop + 1)
    line.commented = True


def _replace_value(line: _Line, token: str) -> None:
    assert line.value is not None
    start = line.value.start
    line.text = line.text[:start] + token + line.text[line.value.stop :]
    line.value = slice(start, start + len(token))


def _uncomment(line: _Line, token: str) -> None:
    """Drop the comment characters before the key; the rest of the line stays."""
    assert line.key is not None and line.value is not None
    hash_at = line.text.index("#")
    removed = line.key.start - hash_at
    line.text = line.text[:hash_at] + line.text[line.key.start :]
    line.key = slice(line.key.start - removed, line.key.stop - removed)
    line.value = slice(line.value.start - removed, line.value.stop - removed)
    line.commented = False
    _replace_value(line, token)


def alter_file(
    path: str | os.PathLike[str],
    map: Mapping[str, Value | None],
    keys: Iterable[str] | None = None,
) -> list[str]:
    """``alter_config`` on a file, replacing it atomically (mode and owner kept).

    Returns the new lines. The file is not rewritten when nothing changes. Errors carry
    the file's path.
    """
    target = os.fspath(path)
    old = _read_lines(target)
    try:
        new = alter_config(map, old, keys)
    except ConfigError as exc:
        exc.path = os.path.abspath(target)
        raise
    if new != old:
        atomic_write_text(target, "".join(new), encoding=ENCODING, errors=ENCODING_ERRORS)
    return new
