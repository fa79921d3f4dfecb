"""Selecting pg_hba.conf records by their leading fields.

Private helper of ``hba``: ``Query`` reads leading fields (lines of text or field strings)
and matches records on them; CIDR and address+netmask forms of one network compare equal,
host names compare case-insensitively, keywords and quoted names stay apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ._hba_check import INCLUDE_DIRECTIVES
from ._hba_lex import Field, tokenize
from ._hba_names import ADDRESS_KEYWORDS, KEYWORDS, Name, name_key
from ._hba_values import Rejected, cidr_bits, numeric_address


class Matchable(Protocol):
    """What a query looks at in a record (an ``hba.Entry``)."""

    type: str
    databases: list[Name]
    users: list[Name]
    address: Name | None
    netmask: str | None
    method: str
    options: dict[str, str]
    path: str | None


class Query:
    """Leading fields to select records: CIDR and address+netmask forms compare equal."""

    def __init__(self, text_fields: Sequence[str]) -> None:
        lexed: list[Field] = []
        for text in text_fields:
            lexed.extend(tokenize(text.rstrip("\r\n")))
        self.parts: dict[str, object] = {}
        it = iter(lexed)
        first = next(it, None)
        if first is None:
            raise ValueError("no fields to match")
        kind = first.tokens[0].value
        self.parts["type"] = kind
        if kind in INCLUDE_DIRECTIVES:
            path = next(it, None)
            if path is not None:
                self.parts["path"] = path.tokens[0].value
            return
        for key in ("databases", "users"):
            f = next(it, None)
            if f is None:
                return
            self.parts[key] = tuple(name_key(Name(t.value, t.quoted), KEYWORDS) for t in f.tokens)
        if kind != "local":
            f = next(it, None)
            if f is None:
                return
            address = Name(f.tokens[0].value, f.tokens[0].quoted)
            mask: str | None = None
            rest = list(it)
            if needs_netmask(address) and rest:
                mask = rest.pop(0).tokens[0].value
            self.parts["address"] = address_key(address, mask)
            it = iter(rest)
        f = next(it, None)
        if f is None:
            return
        self.parts["method"] = f.tokens[0].value
        options: list[tuple[str, str]] = []
        for f in it:
            for t in f.tokens:
                name, _, value = t.value.partition("=")
                options.append((name, value))
        if options:
            self.parts["options"] = options

    def matches(self, entry: Matchable) -> bool:
        for key, want in self.parts.items():
            if key == "type":
                ok = entry.type == want
            elif key == "path":
                ok = entry.path == want
            elif key == "databases":
                ok = tuple(name_key(d, KEYWORDS) for d in entry.databases) == want
            elif key == "users":
                ok = tuple(name_key(u, KEYWORDS) for u in entry.users) == want
            elif key == "address":
                ok = (
                    entry.address is not None
                    and address_key(entry.address, entry.netmask, partial=want) == want
                )
            elif key == "method":
                ok = entry.method == want
            else:
                assert isinstance(want, list)
                ok = all(entry.options.get(k) == v for k, v in want)
            if not ok:
                return False
        return True


def needs_netmask(address: Name) -> bool:
    if not address.quoted and str(address) in ADDRESS_KEYWORDS:
        return False
    return "/" not in address and _numeric(str(address)) is not None


def _numeric(text: str) -> tuple[int, bytes] | None:
    try:
        return numeric_address(text)
    except Rejected:
        return None


def address_key(address: Name, netmask: str | None, partial: object = None) -> object:
    """A comparable form of an address: keyword, host name, or (family, address, mask)."""
    if not address.quoted and str(address) in ADDRESS_KEYWORDS:
        return ("keyword", str(address))
    text, slash, bits = str(address).partition("/")
    numeric = _numeric(text)
    if numeric is None:
        return ("name", str(address).lower())
    family, packed = numeric
    mask: bytes | None = None
    if slash:
        n = cidr_bits(bits, family)
        if n is not None:
            width = len(packed) * 8
            mask = ((2**width - 1) >> (width - n) << (width - n)).to_bytes(len(packed), "big")
    elif netmask is not None:
        parsed = _numeric(netmask)
        mask = parsed[1] if parsed is not None else netmask.encode()
    if isinstance(partial, tuple) and partial[0] == "ip" and partial[3] is None:
        mask = None  # the query gave an address without a mask: compare addresses only
    return ("ip", family, packed, mask)
