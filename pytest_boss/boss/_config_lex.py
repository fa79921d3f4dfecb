"""postgresql.conf lexing as the server's scanner does it (``guc-file.l``).

Private helper of ``config``: a longest-match tokenizer with the scanner's rule priorities,
and the parse of one line into the slices of its name and value token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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
BLANK = re.compile(r"[ \t\r]*")
NAME = re.compile(rf"{_ID}(?:\.{_ID})?\Z")


class Lexer:
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
            blank = BLANK.match(line, pos)
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


_LEXERS: dict[tuple[str, str, str], Lexer] = {}


def lexer(equality: str, comment: str, quote: str) -> Lexer:
    key = (equality, comment, quote)
    found = _LEXERS.get(key)
    if found is None:
        found = _LEXERS[key] = Lexer(equality, comment, quote)
    return found


def strip_eol(line: str) -> str:
    return line[:-1] if line.endswith("\n") else line


def parse_active(line: str, lexer: Lexer, pos: int = 0) -> tuple[slice, slice] | str | None:
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


def parse_commented(text: str, lexer: Lexer) -> tuple[slice, slice] | None:
    """Slices of a setting behind leading comment characters, else ``None``."""
    blank = BLANK.match(text)
    assert blank is not None
    pos = blank.end()
    if not text.startswith(lexer.comment, pos):
        return None
    while text.startswith(lexer.comment, pos):
        pos += len(lexer.comment)
    result = parse_active(text, lexer, pos)
    if result is None or isinstance(result, str):
        return None
    # Prose such as "# plain comment" lexes as a setting too: ask for the '='.
    if not text[result[0].stop : result[1].start].strip(" \t\r").startswith(lexer.equality):
        return None
    return result


def lower(name: str) -> str:
    """ASCII-only case folding, as the server's ``guc_name_compare``."""
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
