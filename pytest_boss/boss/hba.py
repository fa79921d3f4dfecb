"""pg_hba.conf as PostgreSQL reads it: tokenizer, ``Entry``, ``Sequence``, a small command line.

The rules are the server's own (``hba.c``), checked against ``pg_hba_file_rules``:

- A backslash ending a line continues the record on the next line (PostgreSQL 14+), even
  inside quotes or a comment; the backslash and the line end vanish. The record's line
  number is that of its first line. CRLF line ends work; a CR elsewhere is a blank.
- Fields are separated by blanks; a field is a comma list (``a,b`` and ``a, b`` are both
  two names; ``a ,b`` is two fields). Double quotes protect blanks, commas and ``#``;
  ``""`` inside quotes is a quote. An unquoted ``#`` ends the record.
- A name written with a leading quote loses its special meaning: ``"all"``, ``"+admins"``,
  ``"@file"`` are plain names, ``all``, ``+admins`` (members of admins), ``@file`` (names
  read from a file) are not. Types, methods and options are compared case-sensitively.
- From PostgreSQL 16, a name starting with ``/`` is a regular expression (quoted or not),
  and ``include``, ``include_if_exists``, ``include_dir`` lines include other files. Here
  an include line is an ``Entry`` whose ``type`` is the directive and ``path`` its
  argument; ``@file`` names and include directives are kept, not followed (no file context).

``read_config`` raises ``HBAError`` for the first record the server rejects, when that can
be decided without a server. It models a complete build of the newest PostgreSQL; what
depends on the build (``not supported by this build``), on settings (``ssl``,
``oauth_validator_libraries``), on name resolution (RADIUS servers) or on other files
(``@file``, include directives) is left to the server. Regular expressions are checked for
the structural errors the server reports (parentheses, brackets, braces, quantifiers,
escapes, classes, ranges, back references), not compiled.

``version`` (a major number) selects an older release's rules; the differences modelled:

- 13 and older: no line continuation.
- 15 and older: no include directives (``invalid connection type "include"``), a name
  starting with ``/`` is a plain name, and a token of 10240 bytes or more is rejected.
- 17 and older: no ``oauth`` method nor its options (``issuer``, ``scope``, ``validator``,
  ``delegate_ident_mapping``); the message about ``map`` lists one method less.

Files are read as UTF-8 with ``surrogateescape`` and ``newline=''``: every byte survives,
and ``Sequence.writeto`` writes each untouched line exactly as it was read.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Sequence as _Seq
from typing import Callable, Protocol, Union, overload

from ._atomic import atomic_write_text
from ._errors import LineError
from ._hba_check import (
    INCLUDE_DIRECTIVES,
    NEWEST,
    Rejected,
    check_record,
    cidr_bits,
    numeric_address,
)
from ._hba_lex import (
    BLANKS,
    Field,
    Logical,
    TokenTooLong,
    comment_start,
    join_logical,
    split_physical,
    tokenize,
)

__all__ = [
    "ADDRESS_KEYWORDS",
    "KEYWORDS",
    "NEWEST",
    "Entry",
    "HBAError",
    "HBAVersionError",
    "Name",
    "Sequence",
    "main",
    "parse_line",
    "read_config",
    "read_file",
    "require_version",
    "version_features",
]

#: Database and user keywords; they mean themselves only when written with a quote.
KEYWORDS = ("all", "sameuser", "samerole", "samegroup", "replication")
#: Address keywords.
ADDRESS_KEYWORDS = ("all", "samehost", "samenet")
#: Where initdb puts the columns (type, database, user, address, method).
_DEFAULT_COLUMNS = {"type": 0, "database": 8, "user": 24, "address": 40, "method": 64}


class HBAError(LineError):
    """A pg_hba.conf record PostgreSQL would reject.

    Attributes: ``reason`` (the server's message), ``path`` (``None`` for lines not read
    from a file), ``lineno`` (1-based line of the record's first line, ``None`` when
    unknown) and ``line`` (the record, continuation lines joined).
    """

    hint = (
        "fix the record or comment it out (PostgreSQL refuses the whole file: a server does"
        " not start, a reload keeps the old rules)"
    )

    def __str__(self) -> str:
        text = (
            self.reason
            if self.path is None and self.lineno is None
            else f"{self.where()}: {self.reason}"
        )
        if self.line is not None:
            text += f" in {self.line!r}"
        return f"{text}; {self.hint}"


class HBAVersionError(HBAError):
    """A record that needs a newer PostgreSQL than the one it is meant for."""

    hint = "run it on a newer installation (--pg-bin) or write the rule without that feature"


class Name(str):
    """A database, user or address name that knows whether it was written quoted.

    It compares like the plain string (``Name("all", quoted=True) == "all"``); look at
    ``quoted`` or ``special`` for the meaning.
    """

    quoted: bool

    def __new__(cls, value: str, quoted: bool = False) -> Name:
        self = super().__new__(cls, value)
        self.quoted = quoted
        return self

    def __repr__(self) -> str:
        text = str.__repr__(str(self))
        return f"Name({text}, quoted=True)" if self.quoted else f"Name({text})"

    def __getnewargs__(self) -> tuple[str, bool]:  # type: ignore[override]
        return (str(self), self.quoted)

    @property
    def special(self) -> bool:
        """True for a keyword, ``+role`` or ``@file`` written without a leading quote."""
        return not self.quoted and _significant(str(self), KEYWORDS)


def _significant(value: str, keywords: tuple[str, ...]) -> bool:
    """Whether a leading quote changes what ``value`` means."""
    return value in keywords or (len(value) > 1 and value[0] in "+@")


def _name_key(name: str, keywords: tuple[str, ...]) -> tuple[str, bool]:
    quoted = bool(getattr(name, "quoted", False))
    return str(name), quoted and _significant(str(name), keywords)


def _needs_quotes(value: str) -> bool:
    return value == "" or value.endswith("\\") or any(c in value for c in ' \t\r\n,"#')


def _quote(value: str) -> str:
    if "\n" in value:
        raise HBAError(f"a value cannot hold a line break: {str(value)!r}")
    return '"' + value.replace('"', '""') + '"'


def _render_name(name: str, quoted: bool) -> str:
    """A name as a token that reads back with the same value and the same quoting."""
    if quoted:
        return _quote(name)
    if not _needs_quotes(name):
        return name
    if len(name) > 1 and name[0] in "+@/":
        return name[0] + _quote(name[1:])
    return _quote(name)


def _render_plain(value: str) -> str:
    return _quote(value) if _needs_quotes(value) else value


def _render_option(name: str, value: str) -> str:
    if not _needs_quotes(name + "=" + value):
        return f"{name}={value}"
    if not _needs_quotes(name) and name:
        return f"{name}={_quote(value)}"
    return _quote(f"{name}={value}")


def _names(values: Iterable[str] | str) -> list[Name]:
    if isinstance(values, str):
        values = [values]
    return [v if isinstance(v, Name) else Name(v) for v in values]


class Entry:
    """One pg_hba.conf record.

    ``type`` (``local``, ``host`` ...), ``databases`` and ``users`` (lists of ``Name``),
    ``address`` (a ``Name``, or ``None`` for ``local``), ``netmask`` (when written as a
    separate field), ``method`` (as written: ``ident`` on ``local`` stays ``ident``, which
    the server runs as ``peer``) and ``options`` (name to value, in order). For an include
    directive (16+) ``type`` is the directive and ``path`` its argument.

    Plain strings given to the constructor are names written without quotes (keywords keep
    their meaning); use ``Name("all", quoted=True)`` for a database called ``all``.
    """

    def __init__(
        self,
        type: str,
        databases: Iterable[str] | str = (),
        users: Iterable[str] | str = (),
        address: str | None = None,
        netmask: str | None = None,
        method: str = "",
        options: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        *,
        path: str | None = None,
    ) -> None:
        self.type = type
        self.databases: list[Name] = _names(databases)
        self.users: list[Name] = _names(users)
        self.address: Name | None = (
            None if address is None else address if isinstance(address, Name) else Name(address)
        )
        self.netmask = netmask
        self.method = method
        self.options: dict[str, str] = dict(options or {})
        self.path = path

    @classmethod
    def parse(cls, text: str, version: int | None = None) -> Entry:
        """The one record in ``text`` (continuation lines and a comment allowed)."""
        try:
            seq = read_config(text, version=version)
        except HBAError as exc:  # one record: its line number says nothing
            raise HBAError(exc.reason, line=exc.line) from None
        if len(seq) != 1:
            raise HBAError(f"expected one record, found {len(seq)}", line=text)
        return seq[0]

    @property
    def is_include(self) -> bool:
        """True for an ``include``, ``include_if_exists`` or ``include_dir`` line."""
        return self.type in INCLUDE_DIRECTIVES

    def fields(self) -> list[str]:
        """The fields as they would be written (quoted where needed)."""
        if self.is_include:
            return [self.type, _render_plain(self.path or "")]
        out = [
            _render_plain(self.type),
            ",".join(_render_name(d, d.quoted) for d in self.databases),
            ",".join(_render_name(u, u.quoted) for u in self.users),
        ]
        if self.address is not None:
            out.append(_render_name(self.address, self.address.quoted))
        if self.netmask is not None:
            out.append(_render_plain(self.netmask))
        out.append(_render_plain(self.method))
        out.extend(_render_option(k, v) for k, v in self.options.items())
        return out

    def __str__(self) -> str:
        return " ".join(self.fields())

    def check(self, version: int | None = None) -> None:
        """Raise ``HBAError`` when the server would reject this record."""
        if not self.is_include:
            if not self.databases or not self.users:
                raise HBAError("a record needs at least one database and one user", line=repr(self))
            if (self.type == "local") != (self.address is None):
                needs = "has no address" if self.type == "local" else "needs an address"
                raise HBAError(f'a "{self.type}" record {needs}', line=repr(self))
        again = Entry.parse(str(self), version=version)
        if again != self:  # pragma: no cover - a rendering bug, not a user error
            raise HBAError(f"{self!r} does not read back as itself: {again!r}")

    def _key(self) -> tuple[object, ...]:
        return (
            self.type,
            tuple(_name_key(d, KEYWORDS) for d in self.databases),
            tuple(_name_key(u, KEYWORDS) for u in self.users),
            None if self.address is None else _name_key(self.address, ADDRESS_KEYWORDS),
            self.netmask,
            self.method,
            tuple(self.options.items()),
            self.path,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable: compare, do not hash

    def __repr__(self) -> str:
        try:
            return f"Entry.parse({str(self)!r})"
        except HBAError:
            return f"Entry({self.type!r}, {self.databases!r}, {self.users!r}, ...)"


def parse_line(line: str, separator: str = " \t", comment: str = "#") -> list[str] | None:
    """The raw fields of one logical line as written, or ``None`` for a blank or comment line.

    ``separator`` holds the blank characters (a CR is always one, as in the server);
    a field keeps its quotes and its comma list (``'"a b", c'``). Continuation lines must
    already be joined (``read_config`` does that).
    """
    text = line.rstrip("\r\n")
    try:
        fields = tokenize(text, comment=comment, blanks=separator + "\r")
    except TokenTooLong:
        raise HBAError("authentication file token too long", line=text) from None
    if not fields:
        return None
    return [text[f.start : f.end] for f in fields]


class _Record:
    """A record of a Sequence: its entry, and the exact text it was read from."""

    __slots__ = ("comment", "entry", "raw", "snapshot")

    def __init__(self, entry: Entry, raw: str | None = None, comment: str = "") -> None:
        self.entry = entry
        self.raw = raw
        self.comment = comment
        self.snapshot = copy.deepcopy(entry) if raw is not None else None

    def untouched(self) -> bool:
        return self.raw is not None and self.entry == self.snapshot


FieldsLike = Union[str, Entry, _Seq[str]]


class _Writer(Protocol):
    def write(self, text: str, /) -> object: ...


class Sequence:
    """The records of one pg_hba.conf file, list-like, keeping every other line as it was.

    ``len``, ``[]``, ``del``, ``append``, ``pop``, ``insert``, iteration work on records
    (comments and blank lines are not items). Entries may be given as ``Entry`` or as a
    line of text; either is checked first (``HBAError``). ``fields`` (a line of text, a
    list of field strings or an ``Entry``) select a record by its leading fields.
    """

    def __init__(
        self,
        items: list[str | _Record] | None = None,
        version: int | None = None,
        eol: str = "\n",
        path: str | None = None,
    ) -> None:
        self._items: list[str | _Record] = items or []
        self.version = version
        self.eol = eol
        self.path = path

    # list-like access -------------------------------------------------------------------
    def _recs(self) -> list[int]:
        return [i for i, item in enumerate(self._items) if isinstance(item, _Record)]

    def _record(self, index: int) -> _Record:
        item = self._items[self._recs()[index]]
        assert isinstance(item, _Record)
        return item

    def __len__(self) -> int:
        return len(self._recs())

    def __iter__(self) -> Iterator[Entry]:
        for item in self._items:
            if isinstance(item, _Record):
                yield item.entry

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            return list(self)[index]
        return self._record(index).entry

    def __setitem__(self, index: int, entry: Entry | str) -> None:
        self._record(index).entry = self._coerce(entry)

    def __delitem__(self, index: int | slice) -> None:
        recs = self._recs()
        chosen = recs[index] if isinstance(index, slice) else [recs[index]]
        for at in sorted(chosen, reverse=True):
            del self._items[at]

    def _coerce(self, entry: Entry | str) -> Entry:
        if isinstance(entry, str):
            return Entry.parse(entry, version=self.version)
        entry.check(version=self.version)
        return entry

    def append(self, entry: Entry | str) -> None:
        """Add a record at the end of the file."""
        self.insert(len(self), entry)

    def pop(self, index: int = -1) -> Entry:
        """Remove record ``index`` (its lines and their comments) and return it."""
        entry = self[index]
        del self[index]
        return entry

    def insert(self, index: int, entry: Entry | str, position: int = 0) -> None:
        """Insert ``entry`` so that it becomes record ``index``.

        Comment and blank lines between record ``index - 1`` and record ``index`` usually
        describe the record below them. ``position`` says how many of them end up below
        the new record: 0 puts it directly above record ``index`` (or at the end of the
        file), 1 above the last such line, and so on; a negative number counts from the
        record above (-1: directly below record ``index - 1``, or at the top of the file).
        """
        new = _Record(self._coerce(entry))
        recs = self._recs()
        n = len(recs)
        if index < 0:
            index = max(0, index + n)
        index = min(index, n)
        lo = recs[index - 1] + 1 if index > 0 else 0
        hi = recs[index] if index < n else len(self._items)
        at = max(lo, hi - position) if position >= 0 else min(hi, lo + (-position - 1))
        self._items.insert(at, new)

    # selection by fields ----------------------------------------------------------------
    def find(self, fields: FieldsLike) -> int:
        """Index of the first record whose leading fields match ``fields``, or -1."""
        query = _Query(fields)
        for i, entry in enumerate(self):
            if query.matches(entry):
                return i
        return -1

    def index(self, fields: FieldsLike) -> int:
        """Like ``find``, but raise ``ValueError`` when no record matches."""
        i = self.find(fields)
        if i < 0:
            raise ValueError(f"no record matches {_describe(fields)}")
        return i

    def insert_before(self, fields: FieldsLike, entry: Entry | str) -> None:
        """Insert ``entry`` directly above the first record matching ``fields``."""
        self.insert(self.index(fields), entry, position=0)

    def insert_after(self, fields: FieldsLike, entry: Entry | str) -> None:
        """Insert ``entry`` directly below the first record matching ``fields``."""
        self.insert(self.index(fields) + 1, entry, position=-1)

    def __contains__(self, item: object) -> bool:
        """``entry in seq`` compares records; a line of text or field list selects by fields."""
        if isinstance(item, Entry):
            return any(entry == item for entry in self)
        if isinstance(item, str) or (
            isinstance(item, _Seq) and all(isinstance(f, str) for f in item)
        ):
            return self.find(item) >= 0
        return False

    def remove(self, fields: FieldsLike) -> Entry:
        """Remove the first record matching ``fields`` and return it (``ValueError`` if none)."""
        return self.pop(self.index(fields))

    # output -----------------------------------------------------------------------------
    def numbered(self) -> list[tuple[int, Entry]]:
        """(line number, entry) of each record as the file would be written now."""
        out: list[tuple[int, Entry]] = []
        line = 1
        for item in self._items:
            if isinstance(item, str):
                line += _count_lines(item)
                continue
            out.append((line, item.entry))
            line += _count_lines(item.raw) if item.untouched() and item.raw else 1
        return out

    def writeto(self, writer: _Writer | Callable[[str], object]) -> None:
        """Write the file: untouched lines byte for byte, new records like their neighbours."""
        write = writer.write if hasattr(writer, "write") else writer
        assert callable(write)
        ended = True
        for k, item in enumerate(self._items):
            if isinstance(item, str):
                text = item
            elif item.untouched():
                assert item.raw is not None
                text = item.raw
            else:
                text = self._format(k, item) + self.eol
            if not text:
                continue
            if not ended:
                write(self.eol)
            write(text)
            ended = text.endswith("\n")

    def text(self) -> str:
        """The whole file as ``writeto`` writes it."""
        parts: list[str] = []
        self.writeto(parts.append)
        return "".join(parts)

    def write(self, path: str | os.PathLike[str] | None = None) -> None:
        """Replace the file atomically (keeping its mode and owner) with ``text()``."""
        target = path if path is not None else self.path
        if target is None:
            raise ValueError("no path: this Sequence was not read from a file")
        atomic_write_text(target, self.text(), errors="surrogateescape", newline="")

    # formatting of new records ----------------------------------------------------------
    def _format(self, at: int, record: _Record) -> str:
        entry = record.entry
        layout, tabs = self._layout(at)
        slots = _slots(entry)
        fields = entry.fields()
        out = ""
        col = 0
        for i, (slot, text) in enumerate(zip(slots, fields)):
            if i:
                target = layout.get(slot, -1)
                sep = _pad(col, target, tabs)
                out += sep
                col = _advance(col, sep)
            out += text
            col = _advance(col, text)
        if record.comment:
            out += "  " + record.comment
        return out

    def _layout(self, at: int) -> tuple[dict[str, int], bool]:
        """Columns of the nearest one-line records as read (closest first), and tab use.

        A record being rewritten is its own nearest neighbour. Records written with single
        spaces give no columns: the new record gets single spaces too.
        """
        near = sorted(
            (abs(k - at), k)
            for k, item in enumerate(self._items)
            if isinstance(item, _Record) and item.raw is not None
        )
        layout: dict[str, int] = {}
        tabs: bool | None = None
        compact = False
        for _, k in near[:8]:
            item = self._items[k]
            assert isinstance(item, _Record) and item.raw is not None
            assert item.snapshot is not None
            line = item.raw.rstrip("\r\n")
            if "\n" in line:
                continue
            fields = tokenize(line)
            gaps = [line[a.end : b.start] for a, b in zip(fields, fields[1:])]
            if tabs is None:
                tabs = any("\t" in g for g in gaps)
                compact = all(g == " " for g in gaps)
            for slot, f in zip(_slots(item.snapshot), fields):
                if slot not in layout and slot != "option+":
                    layout[slot] = _advance(0, line[: f.start])
            if all(s in layout for s in ("type", "database", "user", "address", "method")):
                break
        if compact:
            return {}, False
        if not layout:
            layout = self._header_layout() or dict(_DEFAULT_COLUMNS)
        if "address" not in layout and "user" in layout and "database" in layout:
            layout["address"] = layout["user"] + (layout["user"] - layout["database"])
        return layout, bool(tabs)

    def _header_layout(self) -> dict[str, int] | None:
        """Columns of an initdb-style ``# TYPE  DATABASE  USER  ADDRESS  METHOD`` comment."""
        for item in self._items:
            if not isinstance(item, str):
                continue
            line = item.rstrip("\r\n")
            words = line.lstrip("# \t").split()
            if line.startswith("#") and words[:3] == ["TYPE", "DATABASE", "USER"]:
                layout = {"type": 0}
                for word, slot in (
                    ("DATABASE", "database"),
                    ("USER", "user"),
                    ("ADDRESS", "address"),
                    ("METHOD", "method"),
                ):
                    pos = line.find(word)
                    if pos > 0:
                        layout[slot] = _advance(0, line[:pos])
                return layout
        return None


def _slots(entry: Entry) -> list[str]:
    if entry.is_include:
        return ["type", "database"]
    slots = ["type", "database", "user"]
    if entry.address is not None:
        slots.append("address")
    if entry.netmask is not None:
        slots.append("netmask")
    slots.append("method")
    slots.extend("option" if i == 0 else "option+" for i in range(len(entry.options)))
    return slots


def _advance(col: int, text: str) -> int:
    """The display column after ``text`` (tab stops every 8 columns)."""
    for c in text:
        col = (col // 8 + 1) * 8 if c == "\t" else col + 1
    return col


def _pad(col: int, target: int, tabs: bool) -> str:
    """Blanks from ``col`` to ``target`` (at least one)."""
    if target <= col:
        return "\t" if tabs else " "
    if not tabs:
        return " " * (target - col)
    out = ""
    while (col // 8 + 1) * 8 <= target:
        out += "\t"
        col = (col // 8 + 1) * 8
    out += " " * (target - col)
    return out or " "


def _count_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _describe(fields: FieldsLike) -> str:
    if isinstance(fields, str):
        return repr(fields)
    if isinstance(fields, Entry):
        return repr(str(fields))
    return repr(" ".join(fields))


class _Query:
    """Leading fields to select records: CIDR and address+netmask forms compare equal."""

    def __init__(self, fields: FieldsLike) -> None:
        if isinstance(fields, Entry):
            text_fields = [str(fields)]
        elif isinstance(fields, str):
            text_fields = [fields]
        else:
            text_fields = list(fields)
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
            self.parts[key] = tuple(_name_key(Name(t.value, t.quoted), KEYWORDS) for t in f.tokens)
        if kind != "local":
            f = next(it, None)
            if f is None:
                return
            address = Name(f.tokens[0].value, f.tokens[0].quoted)
            mask: str | None = None
            rest = list(it)
            if _needs_netmask(address) and rest:
                mask = rest.pop(0).tokens[0].value
            self.parts["address"] = _address_key(address, mask)
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

    def matches(self, entry: Entry) -> bool:
        for key, want in self.parts.items():
            if key == "type":
                ok = entry.type == want
            elif key == "path":
                ok = entry.path == want
            elif key == "databases":
                ok = tuple(_name_key(d, KEYWORDS) for d in entry.databases) == want
            elif key == "users":
                ok = tuple(_name_key(u, KEYWORDS) for u in entry.users) == want
            elif key == "address":
                ok = (
                    entry.address is not None
                    and _address_key(entry.address, entry.netmask, partial=want) == want
                )
            elif key == "method":
                ok = entry.method == want
            else:
                assert isinstance(want, list)
                ok = all(entry.options.get(k) == v for k, v in want)
            if not ok:
                return False
        return True


def _needs_netmask(address: Name) -> bool:
    if not address.quoted and str(address) in ADDRESS_KEYWORDS:
        return False
    return "/" not in address and _numeric(str(address)) is not None


def _numeric(text: str) -> tuple[int, bytes] | None:
    try:
        return numeric_address(text)
    except Rejected:
        return None


def _address_key(address: Name, netmask: str | None, partial: object = None) -> object:
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


def _eol_of(physical: list[str]) -> str:
    for line in physical:
        if line.endswith("\n"):
            return "\r\n" if line.endswith("\r\n") else "\n"
    return "\n"


def version_features(entry: Entry | str) -> list[tuple[str, int]]:
    """The features of a record that not every release has: (description, first major).

    A record that an older server accepts with another meaning (a name starting with ``/`` is
    a plain name before 16) is listed too: for a test, a rule that silently means something
    else is worse than one that is refused.
    """
    if isinstance(entry, str):
        entry = Entry.parse(entry)
    needs: list[tuple[str, int]] = []
    if entry.is_include:
        needs.append((f"the {entry.type} directive", 16))
        return needs
    names = [*entry.databases, *entry.users]
    if any(str(name).startswith("/") for name in names):
        needs.append(("regular expressions in database and user names", 16))
    if entry.method == "oauth":
        needs.append(("the oauth authentication method", 18))
    return needs


def require_version(entry: Entry | str, version: int) -> None:
    """Raise ``HBAVersionError`` naming the version when the record needs a newer PostgreSQL."""
    for feature, since in version_features(entry):
        if version < since:
            raise HBAVersionError(
                f"{feature} needs PostgreSQL {since} or newer, this is PostgreSQL {version}",
                line=str(entry).strip(),
            )


def read_config(
    lines: Iterable[str] | str, version: int | None = None, path: str | None = None
) -> Sequence:
    """The records of ``lines`` (a file opened with ``newline=''``, a list or a string).

    Raises ``HBAError`` for the first record the server would reject. ``version`` (a
    major version such as 15) selects that release's rules; the default is the newest.
    """
    major = NEWEST if version is None else version
    physical = split_physical(lines)
    logical = join_logical(physical, continuation=major >= 14)
    items: list[str | _Record] = []
    for lg in logical:
        raw = "".join(physical[lg.first : lg.first + lg.count])
        record = _read_record(lg, raw, major, path)
        items.append(raw if record is None else record)
    return Sequence(items, version=version, eol=_eol_of(physical), path=path)


def _read_record(lg: Logical, raw: str, version: int, path: str | None) -> _Record | None:
    lineno = lg.first + 1
    try:
        fields = tokenize(lg.text, token_limit=version <= 15)
    except TokenTooLong:
        raise HBAError("authentication file token too long", path, lineno, lg.text) from None
    if not fields:
        return None
    try:
        rec = check_record(fields, version)
    except Rejected as exc:
        raise HBAError(exc.reason, path, lineno, lg.text) from None
    entry = Entry(
        rec.type,
        [Name(t.value, t.quoted) for t in rec.databases],
        [Name(t.value, t.quoted) for t in rec.users],
        None if rec.address is None else Name(rec.address.value, rec.address.quoted),
        rec.netmask,
        rec.method,
        rec.options,
        path=rec.path,
    )
    cut = comment_start(lg.text)
    comment = lg.text[cut:].rstrip(BLANKS) if cut >= 0 else ""
    return _Record(entry, raw, comment)


def read_file(path: str | os.PathLike[str], version: int | None = None) -> Sequence:
    """``read_config`` of a file, every byte kept (UTF-8 with ``surrogateescape``)."""
    name = os.fspath(path)
    with open(name, encoding="utf-8", errors="surrogateescape", newline="") as fo:
        return read_config(fo.read(), version=version, path=name)


# command line ---------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pg-hba",
        description="Read, check and edit a pg_hba.conf file the way PostgreSQL reads it. "
        "Edits keep every other line byte for byte and replace the file atomically.",
    )
    parser.add_argument("file", help="the pg_hba.conf file")
    parser.add_argument(
        "--server-version",
        type=int,
        default=None,
        metavar="MAJOR",
        help=f"apply the rules of this PostgreSQL major version (default: {NEWEST})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="print each record with its line number")
    sub.add_parser("check", help="exit 1 with the server's message if a record is invalid")
    add = sub.add_parser("add", help="add a record (at the end, or next to another one)")
    add.add_argument("line", help='the record, e.g. "host all all 10.0.0.0/8 scram-sha-256"')
    where = add.add_mutually_exclusive_group()
    where.add_argument("--before", metavar="FIELDS", help="above the first record matching")
    where.add_argument("--after", metavar="FIELDS", help="below the first record matching")
    remove = sub.add_parser("remove", help="remove the first record whose leading fields match")
    remove.add_argument("fields", help='leading fields, e.g. "host all all 10.0.0.0/8"')
    remove.add_argument("--all", action="store_true", help="remove every matching record")
    return parser


def main(args: _Seq[str] | None = None) -> int:
    """``pg-hba FILE list|check|add|remove ...``; returns the exit status (0, 1; 2 for usage)."""
    ns = _parser().parse_args(list(sys.argv[1:] if args is None else args))
    try:
        seq = read_file(ns.file, version=ns.server_version)
        if ns.command == "list":
            for lineno, entry in seq.numbered():
                print(f"{lineno}\t{entry}")
        elif ns.command == "check":
            print(f"{ns.file}: {len(seq)} records, no errors")
        elif ns.command == "add":
            if ns.before is not None:
                seq.insert_before(ns.before, ns.line)
            elif ns.after is not None:
                seq.insert_after(ns.after, ns.line)
            else:
                seq.append(ns.line)
            seq.write()
        else:
            count = 0
            while seq.find(ns.fields) >= 0 and (ns.all or count == 0):
                seq.remove(ns.fields)
                count += 1
            if not count:
                raise ValueError(f"no record matches {ns.fields!r}")
            seq.write()
    except (HBAError, ValueError, OSError) as exc:
        print(f"pg-hba: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
