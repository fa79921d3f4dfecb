"""pg_hba.conf lexing as the server does it (``hba.c``: ``tokenize_auth_file``, ``next_token``).

Private helper of ``hba``: physical lines are joined into logical lines (a backslash ending a
line continues it, PostgreSQL 14 and later), and a logical line is cut into fields, each a
comma list of tokens that remember whether they began with a double quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

#: PostgreSQL's ``pg_isblank``: a carriage return anywhere in a line is a blank.
BLANKS = " \t\r"
#: The token buffer of PostgreSQL 15 and older (``MAX_TOKEN``): a token of this many bytes
#: or more makes the record invalid. PostgreSQL 16 and 18 have no such limit (17 is taken
#: to be like them).
MAX_TOKEN = 10240


class Token(NamedTuple):
    """One token: its value with quotes removed, and whether its first character was a quote.

    PostgreSQL looks at ``quoted`` only to decide whether a keyword (``all``, ``+role``,
    ``@file`` ...) keeps its meaning: ``"all"`` and ``""all`` are the name all, ``al"l"`` is
    still the keyword.
    """

    value: str
    quoted: bool
    start: int  # offset of the token's first character in the logical line
    end: int  # offset just past its last character


class Field(NamedTuple):
    """One field: a comma list of tokens (``a,b`` and ``a, b`` are both two tokens)."""

    tokens: tuple[Token, ...]

    @property
    def start(self) -> int:
        return self.tokens[0].start

    @property
    def end(self) -> int:
        return self.tokens[-1].end


class Logical:
    """One logical line: the physical lines it was joined from and the joined text."""

    __slots__ = ("count", "first", "text")

    def __init__(self, first: int, count: int, text: str) -> None:
        self.first = first  # index of its first physical line
        self.count = count  # number of physical lines
        self.text = text  # joined, without line ends and continuation backslashes


def split_physical(lines: Iterable[str] | str) -> list[str]:
    """Physical lines with their line ends, exactly as given.

    Every element is cut after each ``\\n``; an element without one is a complete line
    (a list of lines without ends), except at the very end, where it stays unterminated
    (a file without a final newline), and except when it ends with a CR: a file opened
    with ``newline=''`` yields a lone CR as a line end, but for the server it is a blank.
    """
    if isinstance(lines, str):
        pieces = lines.split("\n")
        last = pieces.pop()
        out = [piece + "\n" for piece in pieces]
        if last:
            out.append(last)
        return out
    out = []
    for chunk in lines:
        if out and out[-1].endswith("\r"):
            chunk = out.pop() + chunk
        elif out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        start = 0
        while True:
            nl = chunk.find("\n", start)
            if nl < 0:
                break
            out.append(chunk[start : nl + 1])
            start = nl + 1
        if start < len(chunk):
            out.append(chunk[start:])
    return out


def join_logical(physical: list[str], continuation: bool = True) -> list[Logical]:
    """Join physical lines the way ``tokenize_auth_file`` does (see ``join_at``)."""
    out: list[Logical] = []
    i = 0
    while i < len(physical):
        lg = join_at(physical, i, continuation)
        out.append(lg)
        i += lg.count
    return out


def join_at(physical: list[str], first: int, continuation: bool = True) -> Logical:
    """The logical line that starts at physical line ``first``.

    The whole buffer loses its trailing CR and LF characters; then, if the physical line
    just added grew the buffer and the buffer ends with a backslash, that backslash is
    dropped and the next physical line is appended (even inside quotes or a comment).
    """
    i = first
    n = len(physical)
    buf = ""
    last_len = 0
    while i < n:
        buf = (buf + physical[i]).rstrip("\r\n")
        i += 1
        if continuation and len(buf) > last_len and buf.endswith("\\"):
            buf = buf[:-1]
            last_len = len(buf)
            continue
        break
    return Logical(first, i - first, buf)


class TokenTooLong(ValueError):
    """A token longer than the server's buffer (the record is rejected)."""


def _next_token(
    line: str, pos: int, comment: str, blanks: str, limit: bool
) -> tuple[Token | None, int, bool]:
    """One token from ``pos``: (token or None at the end, new position, ended by a comma)."""
    n = len(line)
    while pos < n and (line[pos] in blanks or line[pos] == ","):
        pos += 1
    start = pos
    buf: list[str] = []
    in_quote = was_quote = saw_quote = initial_quote = False
    comma = False
    end = pos
    while pos < n and (line[pos] not in blanks or in_quote):
        c = line[pos]
        if c == comment and not in_quote:
            pos = n
            break
        if c == "," and not in_quote:
            comma = True
            break
        if c != '"' or was_quote:
            buf.append(c)
        was_quote = (not was_quote) if (in_quote and c == '"') else False
        if c == '"':
            in_quote = not in_quote
            saw_quote = True
            if not buf:
                initial_quote = True
        pos += 1
        end = pos
    if not (saw_quote or buf):
        return None, pos, False
    value = "".join(buf)
    if limit and len(value.encode("utf-8", "surrogatepass")) >= MAX_TOKEN:
        raise TokenTooLong(value)
    return Token(value, initial_quote, start, end), pos, comma


#: A field of a line without double quotes: tokens joined by commas (blanks after them).
_PLAIN_FIELD = re.compile(r"[^ \t\r,]+(?:,[ \t\r,]*[^ \t\r,]+)*")
_PLAIN_TOKEN = re.compile(r"[^ \t\r,]+")


def _tokenize_plain(line: str, token_limit: bool) -> list[Field]:
    """``tokenize`` of a line without double quotes, the default blanks and comment."""
    cut = line.find("#")
    if cut >= 0:
        line = line[:cut]
    fields: list[Field] = []
    for match in _PLAIN_FIELD.finditer(line):
        text = match.group()
        if "," not in text:
            tokens: tuple[Token, ...] = (Token(text, False, match.start(), match.end()),)
        else:
            base = match.start()
            tokens = tuple(
                Token(t.group(), False, base + t.start(), base + t.end())
                for t in _PLAIN_TOKEN.finditer(text)
            )
        if token_limit and len(text) * 4 >= MAX_TOKEN:
            for token in tokens:
                if len(token.value.encode("utf-8", "surrogatepass")) >= MAX_TOKEN:
                    raise TokenTooLong(token.value)
        fields.append(Field(tokens))
    return fields


def tokenize(
    line: str, comment: str = "#", blanks: str = BLANKS, token_limit: bool = False
) -> list[Field]:
    """The fields of one logical line (an empty list for a blank or comment line).

    ``token_limit`` applies the token length limit of PostgreSQL 15 and older. Lines
    without double quotes take a faster path that gives the same fields.
    """
    if '"' not in line and comment == "#" and blanks == BLANKS:
        return _tokenize_plain(line, token_limit)
    fields: list[Field] = []
    pos = 0
    n = len(line)
    while pos < n:
        tokens: list[Token] = []
        while True:
            token, pos, comma = _next_token(line, pos, comment, blanks, token_limit)
            if token is None:
                break
            tokens.append(token)
            if not comma:
                break
        if tokens:
            fields.append(Field(tuple(tokens)))
    return fields


def comment_start(line: str, comment: str = "#", blanks: str = BLANKS) -> int:
    """Offset of the comment that ends a logical line, or -1 (quotes protect ``#``)."""
    if '"' not in line:
        return line.find(comment)
    in_quote = False
    for i, c in enumerate(line):
        if c == '"':
            in_quote = not in_quote
        elif c == comment and not in_quote:
            return i
    return -1
