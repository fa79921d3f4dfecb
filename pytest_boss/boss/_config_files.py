"""Reading postgresql.conf files: physical lines, setting lines, include directives.

Private helper of ``config``: ``file_settings`` follows ``include``, ``include_if_exists``
and ``include_dir`` as the server's ``ParseConfigFile`` does (relative to the including
file, ``.conf`` files only, C-locale order, missing files, recursion and depth limits).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from ._config_errors import ConfigIncludeError, ConfigSyntaxError, Setting
from ._config_lex import lexer as _lexer
from ._config_lex import lower, parse_active, strip_eol
from ._config_quote import ENCODING, ENCODING_ERRORS, unquote

#: Include depth PostgreSQL allows (``CONF_FILE_MAX_DEPTH``); the main file is depth 0.
MAX_INCLUDE_DEPTH = 10

#: The names that are directives, not settings.
INCLUDE_DIRECTIVES = ("include", "include_dir", "include_if_exists")


def physical_lines(text: str) -> list[str]:
    """Lines with their ends, split at ``\\n`` only (a lone CR is a blank to the server)."""
    if not text:
        return []
    parts = text.split("\n")
    result = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        result.append(parts[-1])
    return result


def input_lines(lines: Iterable[str] | str) -> tuple[list[str], bool]:
    """Physical lines of the input, and whether they carry their line ends.

    A string is a whole file. Items of an iterable (a file object, ``readlines()``) are
    joined and split again at ``\\n``, because Python's text files also split at a lone CR,
    which the server reads as a blank. Several items none of which holds a ``\\n`` (e.g.
    from ``str.splitlines()``) are taken as one line each, without ends.
    """
    if isinstance(lines, str):
        return physical_lines(lines), True
    read = getattr(lines, "read", None)
    if callable(read):
        return physical_lines(read()), True
    items = list(lines)
    if len(items) > 1 and not any("\n" in item for item in items):
        return items, False
    return physical_lines("".join(items)), True


def settings(lines: list[str], path: str | None) -> Iterator[Setting]:
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


def read_lines(path: str) -> list[str]:
    with open(path, encoding=ENCODING, errors=ENCODING_ERRORS, newline="") as fo:
        return physical_lines(fo.read())


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
        lines = read_lines(path)
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
    for setting in settings(lines, path):
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
    return list(_file_settings(top, read_lines(top), 0))
