"""A fast path for the common pg_hba.conf record: plain words, no quotes, nothing to reject.

Private helper of ``hba``. ``fast_record`` splits a logical line with string methods
instead of the character-by-character tokenizer and accepts it only when it is sure the
full check (``_hba_check.check_record``) would accept it with the same parts; anything else
(quotes, include directives, regular expressions, netmasks, long tokens, and every record
the server would reject) returns ``None``, and the caller takes the full path, which also
gives the server's message. Tests compare both paths on random lines.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ._hba_check import (
    CONNECTION_TYPES,
    MANDATORY_OPTIONS,
    METHODS,
    State,
    check_mandatory,
    check_option,
)
from ._hba_lex import MAX_TOKEN
from ._hba_names import Name
from ._hba_values import Rejected, cidr_bits, mask_family, numeric_address


class Plain(NamedTuple):
    """The parts of a record written without quotes."""

    type: str
    databases: list[str]
    users: list[str]
    address: str | None
    netmask: str | None
    method: str
    options: list[tuple[str, str]]


#: What ``fast_record`` returns for a blank or comment-only line.
BLANK = Plain("", [], [], None, None, "", [])
_ADDRESS_KEYWORDS = ("all", "samehost", "samenet")
#: Methods whose record has no combination rule with the connection type.
_ANY_TYPE = frozenset(METHODS) - {"oauth", "gss", "ident", "peer", "cert"}


#: What ``str.split()`` splits at besides PostgreSQL's blanks (ASCII only).
_OTHER_SPACE = re.compile(r"[\n\x0b\x0c\x1c-\x1f]")
_SKIP = re.compile(r"[ \t\r,]*")
_TOKEN = re.compile(r'(?:"[^"]*"|[^ \t\r,"#])+')


def _quoted_fields(text: str) -> list[list[str]] | None:
    """The fields of a line with double quotes; ``None`` unless every quote is closed
    and none is doubled (the tokenizer's rules for those are left to it).

    Quoted words are ``Name`` objects that remember a leading quote.
    """
    if '""' in text or text.count('"') % 2:
        return None
    fields: list[list[str]] = []
    pos = 0
    n = len(text)
    joining = False
    while True:
        skip = _SKIP.match(text, pos)
        assert skip is not None
        pos = skip.end()
        if pos >= n or text[pos] == "#":
            return fields
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - balanced quotes always match
            return None
        word = match.group()
        pos = match.end()
        value: str = Name(word.replace('"', ""), quoted=word[0] == '"') if '"' in word else word
        if joining:
            fields[-1].append(value)
        else:
            fields.append([value])
        joining = pos < n and text[pos] == ","


def _fields(text: str) -> list[list[str]] | None:
    """The fields of a line as lists of words; ``None`` if unsure."""
    if '"' in text:
        return _quoted_fields(text)
    cut = text.find("#")
    if cut >= 0:
        text = text[:cut]
    if "," not in text and text.isascii() and not _OTHER_SPACE.search(text):
        return [[part] for part in text.split()]  # blanks are only " \t\r" here
    if "\t" in text or "\r" in text:
        text = text.replace("\t", " ").replace("\r", " ")
    fields: list[list[str]] = []
    joining = False
    for part in text.split(" "):
        if not part:
            continue
        words = [w for w in part.split(",") if w] if "," in part else [part]
        if joining:
            fields[-1].extend(words)
        elif words:
            fields.append(words)
        joining = part.endswith(",") and (bool(words) or joining)
    return fields


def _method_fits(conntype: str, method: str, version: int) -> bool:
    if method in _ANY_TYPE:
        return True
    if method in ("ident", "peer"):
        return conntype == "local" or method == "ident"
    if method == "gss":
        return conntype != "local"
    if method == "cert":
        return conntype == "hostssl"
    return method == "oauth" and version >= 18


#: (connection type, method) pairs the full check accepts, from PostgreSQL 18 and before it.
_FITS = frozenset((t, m) for t in CONNECTION_TYPES for m in METHODS if _method_fits(t, m, 18))
_FITS_17 = frozenset((t, m) for t, m in _FITS if m != "oauth")


def _address(fields: list[list[str]]) -> tuple[str, str | None, int] | None:
    """(address, netmask, fields used) when the full check accepts them, else ``None``."""
    if len(fields[3]) != 1:
        return None
    word = fields[3][0]
    if word in _ADDRESS_KEYWORDS and not getattr(word, "quoted", False):
        return word, None, 1
    text, slash, bits = word.partition("/")
    try:
        numeric = numeric_address(text)
        if slash:
            ok = numeric is not None and cidr_bits(bits, numeric[0]) is not None
            return (word, None, 1) if ok else None
        if numeric is None:
            return word, None, 1
        if len(fields) < 6 or len(fields[4]) != 1:
            return None
        mask = fields[4][0]
        return (word, mask, 2) if mask_family(mask) == numeric[0] else None
    except Rejected:
        return None


def fast_record(text: str, version: int) -> Plain | None:
    """The parts of a plain record the server accepts, ``BLANK``, or ``None`` (full path)."""
    if version <= 15 and len(text) * 4 >= MAX_TOKEN:
        return None
    fields = _fields(text)
    if fields is None:
        return None
    if not fields:
        return BLANK
    if len(fields) < 4 or len(fields[0]) != 1 or fields[0][0] not in CONNECTION_TYPES:
        return None
    conntype = fields[0][0]
    if version >= 16 and ",/" in "," + ",".join(fields[1] + fields[2]):
        return None
    address = netmask = None
    at = 3
    if conntype != "local":
        found = _address(fields) if len(fields) >= 5 else None
        if found is None:
            return None
        address, netmask, used = found
        at = 3 + used
    method = fields[at][0]
    if len(fields[at]) != 1 or (conntype, method) not in (_FITS if version >= 18 else _FITS_17):
        return None
    options: list[tuple[str, str]] = []
    if len(fields) > at + 1 or method in MANDATORY_OPTIONS:
        checked = _options(fields[at + 1 :], conntype, method, version)
        if checked is None:
            return None
        options = checked
    return Plain(conntype, fields[1], fields[2], address, netmask, method, options)


def _options(
    fields: list[list[str]], conntype: str, method: str, version: int
) -> list[tuple[str, str]] | None:
    """The options, checked as the full path does; ``None`` when any is wrong."""
    options: list[tuple[str, str]] = []
    effective = "peer" if (conntype == "local" and method == "ident") else method
    st = State(conntype=conntype, method=effective, version=version)
    try:
        for words in fields:
            for word in words:
                name, eq, value = word.partition("=")
                if not eq:
                    return None
                check_option(name, value, st)
                options.append((name, value))
        check_mandatory(st)
    except Rejected:
        return None
    return options
