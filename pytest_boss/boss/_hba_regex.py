"""Syntax check of PostgreSQL's advanced regular expressions (ARE), for pg_hba.conf names.

Private helper of ``hba``. From PostgreSQL 16 a database or user name starting with ``/``
is a regular expression, and a record whose expression does not compile is rejected. This
checks the structure the server's compiler rejects most often and returns its message
(``regerror`` text); it does not compile anything, so a few exotic errors (bad collating
elements, some embedded options) pass here and are left to the server.
"""

from __future__ import annotations

_CLASSES = frozenset(
    {"alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph"}
    | {"lower", "print", "punct", "space", "upper", "xdigit", "word"}
)
#: Escapes that stand for something in an ARE; other letters and digits after ``\`` are errors.
_ESCAPES = frozenset("abBcdDefmMnrsStuUvwWxyYAZ0")
_CONSTRAINT_ESCAPES = frozenset("mMyYAZ")
_DUPMAX = 255

EPAREN = "parentheses () not balanced"
EBRACK = "brackets [] not balanced"
EBRACE = "braces {} not balanced"
BADRPT = "quantifier operand invalid"
EESCAPE = "invalid escape \\ sequence"
BADBR = "invalid repetition count(s)"
ECTYPE = "invalid character class"
ERANGE = "invalid character range"
ESUBREG = "invalid backreference number"


class _Error(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.groups = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def regex(self, depth: int) -> None:
        self.branch()
        while self.peek() == "|":
            self.i += 1
            self.branch()
        if self.peek() == ")" and depth == 0:
            raise _Error(EPAREN)

    def branch(self) -> None:
        quantifiable: bool | None = None  # None: nothing yet
        while self.i < len(self.s) and self.peek() not in "|)":
            if self._quantifier_ahead():
                if not quantifiable:
                    raise _Error(BADRPT)
                self.quantifier()
                quantifiable = False
                continue
            quantifiable = self.atom()

    def _quantifier_ahead(self) -> bool:
        c = self.peek()
        return c in "*+?" or (c == "{" and self.peek(1).isdigit())

    def quantifier(self) -> None:
        c = self.peek()
        self.i += 1
        if c == "{":
            j = self.s.find("}", self.i)
            if j < 0:
                raise _Error(EBRACE)
            body = self.s[self.i : j]
            low, comma, high = body.partition(",")
            if not low.isdigit() or (high and not high.isdigit()):
                raise _Error(BADBR)
            m = int(low)
            n = int(high) if high else (m if not comma else _DUPMAX)
            if m > _DUPMAX or n > _DUPMAX or m > n:
                raise _Error(BADBR)
            self.i = j + 1
        if self.peek() == "?":
            self.i += 1

    def atom(self) -> bool:
        """Consume one atom or constraint; True when a quantifier may follow it."""
        c = self.peek()
        self.i += 1
        if c == "(":
            capturing = True
            lookaround = False
            if self.peek() == "?":
                rest = self.s[self.i + 1 : self.i + 3]
                if rest.startswith((":",)):
                    self.i += 2
                    capturing = False
                elif rest.startswith(("=", "!")):
                    self.i += 2
                    capturing, lookaround = False, True
                elif rest in ("<=", "<!"):
                    self.i += 3
                    capturing, lookaround = False, True
                else:
                    raise _Error(BADRPT)
            if capturing:
                self.groups += 1
            self.regex(depth=1)
            if self.peek() != ")":
                raise _Error(EPAREN)
            self.i += 1
            return not lookaround
        if c in "^$":
            return False
        if c == "[":
            self.bracket()
            return True
        if c == "\\":
            return self.escape()
        return True

    def escape(self) -> bool:
        c = self.peek()
        if c == "":
            raise _Error(EESCAPE)
        self.i += 1
        if not c.isalnum():
            return True
        if c.isdigit() and c != "0":
            if int(c) > self.groups:
                raise _Error(ESUBREG)
            return True
        if c not in _ESCAPES:
            raise _Error(EESCAPE)
        if c == "c":
            if self.peek() == "":
                raise _Error(EESCAPE)
            self.i += 1
        return c not in _CONSTRAINT_ESCAPES

    def bracket(self) -> None:
        if self.peek() == "^":
            self.i += 1
        first = True
        prev: str | None = None  # last single character, for ranges
        while True:
            c = self.peek()
            if c == "":
                raise _Error(EBRACK)
            if c == "]" and not first:
                self.i += 1
                return
            first = False
            if c == "[" and self.peek(1) in (":", ".", "="):
                kind = self.peek(1)
                end = self.s.find(kind + "]", self.i + 2)
                if end < 0:
                    raise _Error(EBRACK)
                name = self.s[self.i + 2 : end]
                if kind == ":" and name not in _CLASSES:
                    raise _Error(ECTYPE)
                self.i = end + 2
                prev = name if kind != ":" and len(name) == 1 else None
                continue
            if c == "-" and prev is not None and self.peek(1) not in ("]", ""):
                self.i += 1
                high = self.peek()
                if high == "\\":
                    prev = None
                    self.i += 2
                    continue
                self.i += 1
                if ord(high) < ord(prev):
                    raise _Error(ERANGE)
                prev = None
                continue
            self.i += 1
            if c == "\\":
                nxt = self.peek()
                if nxt == "":
                    raise _Error(EBRACK)
                self.i += 1
                prev = nxt if not nxt.isalnum() else None
                continue
            prev = c


def regex_error(text: str) -> str | None:
    """The server's message for an expression it cannot compile, or None when it looks valid."""
    if text.startswith("***="):
        return None
    if text.startswith("***:"):
        text = text[4:]
    if text.startswith("(?"):
        end = text.find(")")
        flags = text[2:end] if end > 0 else ""
        if end > 0 and flags.isalpha():
            text = text[end + 1 :]
    parser = _Parser(text)
    try:
        parser.regex(depth=0)
        if parser.i < len(text):
            raise _Error(EPAREN)
    except _Error as exc:
        return str(exc)
    return None
