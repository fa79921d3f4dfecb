"""Editing postgresql.conf lines in place: the structure-keeping core of ``alter_config``.

Private helper of ``config``. Lines are classified once (live setting, commented-out
setting, anything else) and indexed by setting name; each change then touches only the
lines of its own setting, so a change costs the same in a file of 20 or 20,000 lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._config_lex import Lexer, lower, parse_active, parse_commented, strip_eol
from ._config_quote import Value, render


class Delete:
    """The type of ``DELETE``: a value that removes a setting's live lines outright."""

    _instance: Delete | None = None

    def __new__(cls) -> Delete:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DELETE"


DELETE = Delete()
#: What a name may be given in ``alter_config``: a value, ``None`` (comment out) or ``DELETE``.
Change = Value | None | Delete


class Line:
    """One physical line of a file being altered."""

    __slots__ = ("commented", "key", "name", "text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        self.name: str | None = None  # lower-cased setting name, live or commented out
        self.commented = False
        self.key: slice | None = None
        self.value: slice | None = None


def classify(
    physical: Sequence[str], wanted: set[str], lexer: Lexer
) -> tuple[list[Line], dict[str, list[Line]]] | tuple[int, str, str]:
    """The lines, and the lines of each wanted name; or (line number, error, text)."""
    fold = lower
    lines = [Line(text) for text in physical]
    by_name: dict[str, list[Line]] = {}
    for lineno, line in enumerate(lines, 1):
        text = strip_eol(line.text)
        result = parse_active(text, lexer)
        if result is None:
            # Only a comment naming a wanted setting can matter: skip lexing the others.
            folded = fold(text)
            if not any(name in folded for name in wanted):
                continue
            commented = parse_commented(text, lexer)
            if commented is None:
                continue
            line.key, line.value = commented
            line.commented = True
        elif isinstance(result, str):
            return lineno, result, text
        else:
            line.key, line.value = result
        assert line.key is not None
        line.name = fold(text[line.key])
        if line.name in wanted:
            by_name.setdefault(line.name, []).append(line)
    return lines, by_name


def comment_text(text: str | None) -> str:
    """A trailing comment as written: ``# text`` (a leading ``#`` is kept, not doubled)."""
    if text is None:
        return ""
    if any(c in text for c in "\n\r\0"):
        raise ValueError(f"a comment cannot hold a line break or a NUL: {text!r}")
    text = text.strip(" \t")
    return text if text.startswith("#") else f"# {text}"


def apply(
    lines: list[Line],
    mine: list[Line],
    key: str,
    value: Change,
    note: str,
    line_end: str,
) -> list[Line]:
    """Apply one change to the lines of its setting (``mine``); return the lines kept."""
    live = [line for line in mine if not line.commented]
    if value is None or isinstance(value, Delete):
        for line in live:
            if value is None:
                _comment_out(line)
            else:
                line.text = ""  # dropped when the result is assembled
        return lines
    token = render(value)
    if live:
        for line in live[:-1]:
            _comment_out(line)
        _replace_value(live[-1], token, note)
        return lines
    dormant = [line for line in mine if line.commented]
    if dormant:
        _uncomment(dormant[-1], token, note)
        return lines
    if line_end and lines and not lines[-1].text.endswith("\n"):
        lines[-1].text += line_end
    text = f"{key} = {token}" + (f"  {note}" if note else "")
    new = Line(text + line_end)
    new.name = lower(key)
    new.key = slice(0, len(key))
    new.value = slice(len(key) + 3, len(key) + 3 + len(token))
    lines.append(new)
    mine.append(new)
    return lines


def _comment_out(line: Line) -> None:
    assert line.key is not None and line.value is not None
    line.text = "#" + line.text
    line.key = slice(line.key.start + 1, line.key.stop + 1)
    line.value = slice(line.value.start + 1, line.value.stop + 1)
    line.commented = True


def _replace_value(line: Line, token: str, note: str = "") -> None:
    """A new value token; with ``note``, a new trailing comment (spacing before it kept)."""
    assert line.value is not None
    start = line.value.start
    rest = line.text[line.value.stop :]
    if note:
        body = strip_eol(rest)
        end = rest[len(body) :]
        cut = body.find("#")
        gap = body[:cut] if cut >= 0 else "  "
        rest = (gap or "  ") + note + end
    line.text = line.text[:start] + token + rest
    line.value = slice(start, start + len(token))


def _uncomment(line: Line, token: str, note: str) -> None:
    """Drop the comment characters before the key; the rest of the line stays."""
    assert line.key is not None and line.value is not None
    hash_at = line.text.index("#")
    removed = line.key.start - hash_at
    line.text = line.text[:hash_at] + line.text[line.key.start :]
    line.key = slice(line.key.start - removed, line.key.stop - removed)
    line.value = slice(line.value.start - removed, line.value.stop - removed)
    line.commented = False
    _replace_value(line, token, note)


def check_comments(changes: Mapping[str, Change], comments: Mapping[str, str]) -> None:
    """A comment goes with a setting given a value in the same call."""
    for name in comments:
        if name not in changes or changes[name] is None or isinstance(changes[name], Delete):
            raise ValueError(
                f"a comment for {name!r} needs a value for it in the same call (a setting"
                " commented out or deleted has no line to carry it)"
            )
