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
and ``Sequence.writeto`` writes each untouched line exactly as it was read. A NUL byte is
refused (``HBAError``): the server drops the rest of that line *and* its line end, joining
the next line to it, in pieces that depend on its read buffer, never what was meant.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Sequence as _Seq
from typing import IO, Protocol, Union, overload

from . import _hba_format as fmt
from ._atomic import atomic_write_text
from ._errors import LineError
from ._hba_check import INCLUDE_DIRECTIVES, NEWEST, Record, Rejected, check_record
from ._hba_fast import BLANK, Plain, fast_record
from ._hba_lex import (
    BLANKS,
    Logical,
    TokenTooLong,
    comment_start,
    join_logical,
    split_physical,
    tokenize,
)
from ._hba_names import ADDRESS_KEYWORDS, KEYWORDS, Name, name_key, plain
from ._hba_query import Query

__all__ = [
    "ADDRESS_KEYWORDS",
    "KEYWORDS",
    "NEWEST",
    "Entry",
    "HBAError",
    "HBAVersionError",
    "Name",
    "Sequence",
    "comment",
    "main",
    "parse_line",
    "read_config",
    "read_file",
    "require_version",
    "separator",
    "version_features",
    "write_config",
]

#: The comment character of pg_hba.conf (the seed's module data).
comment = "#"
#: The blanks that separate fields (the seed's module data; a CR is one too).
separator = " \t"


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
    def _of(
        cls,
        type: str,
        databases: list[Name],
        users: list[Name],
        address: Name | None,
        netmask: str | None,
        method: str,
        options: list[tuple[str, str]],
        path: str | None = None,
    ) -> Entry:
        """An entry from parts already checked and converted (no copies, no checks)."""
        self = cls.__new__(cls)
        self.type = type
        self.databases = databases
        self.users = users
        self.address = address
        self.netmask = netmask
        self.method = method
        self.options = dict(options)
        self.path = path
        return self

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
            tuple(name_key(d, KEYWORDS) for d in self.databases),
            tuple(name_key(u, KEYWORDS) for u in self.users),
            None if self.address is None else name_key(self.address, ADDRESS_KEYWORDS),
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


def _comment_text(text: str | None) -> str:
    """A trailing comment as written: ``# text`` (a leading ``#`` is kept, not doubled)."""
    if not text:
        return ""
    if "\n" in text or "\r" in text or "\0" in text:
        raise HBAError(f"a comment cannot hold a line break or a NUL: {text!r}")
    text = text.strip(" \t")
    return text if text.startswith(comment) else f"{comment} {text}"


class _Record:
    """A record of a Sequence: its entry, the exact text it was read from, its comment.

    ``snapshot`` is the entry's comparison key, taken the first time the entry is handed
    out (an entry never handed out cannot have been changed): a record whose entry still
    has that key is written as it was read.
    """

    __slots__ = ("_entry", "comment", "plain", "raw", "snapshot")

    def __init__(self, entry: Entry | None, raw: str | None = None, comment: str = "") -> None:
        self._entry = entry
        self.plain: Plain | None = None  # the parts of a plain record, until its entry is made
        self.raw = raw
        self.comment = comment
        self.snapshot: tuple[object, ...] | None = None

    @property
    def entry(self) -> Entry:
        """The record's entry, made from its plain parts the first time it is needed."""
        if self._entry is None:
            fast = self.plain
            assert fast is not None
            self._entry = Entry._of(
                fast.type,
                [_as_name(w) for w in fast.databases],
                [_as_name(w) for w in fast.users],
                None if fast.address is None else _as_name(fast.address),
                fast.netmask,
                fast.method,
                fast.options,
            )
            self.plain = None
        return self._entry

    @entry.setter
    def entry(self, entry: Entry) -> None:
        self._entry = entry

    def lend(self) -> Entry:
        if self.raw is not None and self.snapshot is None:
            self.snapshot = self.entry._key()
        return self.entry

    def untouched(self) -> bool:
        return self.raw is not None and (
            self.snapshot is None or self.entry._key() == self.snapshot
        )


FieldsLike = Union[str, Entry, _Seq[str]]


class _Writer(Protocol):
    def write(self, text: str, /) -> object: ...


def _write_function(writer: _Writer | Callable[[str], object] | IO[str]) -> Callable[[str], object]:
    write = getattr(writer, "write", None)
    if callable(write):
        return write  # type: ignore[no-any-return]
    if callable(writer):
        return writer
    raise TypeError(f"writer must be a callable or have a write method, not {writer!r}")


class Sequence:
    """The records of one pg_hba.conf file, list-like, keeping every other line as it was.

    ``Sequence(lines)`` reads pg_hba.conf lines (a file object opened with ``newline=''``,
    a list of lines or the whole text) like ``read_config``. ``len``, ``[]``, ``del``,
    ``append``, ``pop``, ``insert``, iteration work on records (comments and blank lines
    are not items); indexing and ``len`` take constant time. Entries may be given as
    ``Entry`` or as a line of text (its trailing comment kept); either is checked first
    (``HBAError``). ``fields`` (a line of text, a list of field strings or an ``Entry``)
    select a record by its leading fields.
    """

    def __init__(
        self,
        iterable: Iterable[str] | str = (),
        *,
        version: int | None = None,
        path: str | None = None,
    ) -> None:
        self.version = version
        self.path = path
        self.eol = "\n"
        self._items: list[str | _Record] = []  # every logical line, in file order
        self._pos: list[int] = []  # _items index of each record
        self._layouts = _Layouts(self._items)
        read_config(iterable, self)

    def _extend(self, items: Iterable[str | _Record]) -> None:
        for item in items:
            if isinstance(item, _Record):
                self._pos.append(len(self._items))
            self._items.append(item)

    def _rec(self, index: int) -> _Record:
        item = self._items[self._pos[index]]
        assert isinstance(item, _Record)
        return item

    def _correct_indexes_past(self, index: int, correction: int) -> None:
        """Shift the line positions of records ``index`` and after by ``correction``."""
        pos = self._pos
        for k in range(index, len(pos)):
            pos[k] += correction

    # list-like access -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._pos)

    def __iter__(self) -> Iterator[Entry]:
        items = self._items
        for at in list(self._pos):
            item = items[at]
            assert isinstance(item, _Record)
            yield item.lend()

    def _records(self) -> Iterator[_Record]:
        """The records in order, without handing their entries out."""
        for at in self._pos:
            item = self._items[at]
            assert isinstance(item, _Record)
            yield item

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            return [self._rec(k).lend() for k in range(len(self._pos))[index]]
        return self._rec(index).lend()

    def __setitem__(self, index: int, val: Entry | str) -> None:
        rec = self._rec(index)
        new, note = self._coerce(val)
        rec.lend()  # the key as read, so the record counts as changed
        rec.entry = new
        if note:
            rec.comment = note

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            self._drop(set(range(len(self._pos))[index]))
            return
        if index < 0:
            index += len(self._pos)
        at = self._pos[index]
        del self._items[at]
        del self._pos[index]
        self._correct_indexes_past(index, -1)

    def _drop(self, chosen: set[int]) -> None:
        """Remove the records whose indexes are in ``chosen``, in one pass."""
        if not chosen:
            return
        gone = {self._pos[k] for k in chosen}
        kept = [item for at, item in enumerate(self._items) if at not in gone]
        self._items = []
        self._pos = []
        self._extend(kept)

    def _coerce(self, entry: Entry | str) -> tuple[Entry, str]:
        """A checked entry and its trailing comment (from a line of text)."""
        if isinstance(entry, str):
            try:
                seq = read_config(entry, version=self.version)
            except HBAError as exc:
                raise HBAError(exc.reason, line=exc.line) from None
            if len(seq) != 1:
                raise HBAError(f"expected one record, found {len(seq)}", line=entry)
            rec = seq._rec(0)
            return rec.entry, rec.comment
        entry.check(version=self.version)
        return entry, ""

    def append(self, entry: Entry | str, *, comment: str | None = None) -> None:
        """Add a record at the end of the file (``comment``: a trailing comment for it)."""
        self.insert(len(self), entry, comment=comment)

    def pop(self, index: int = 0) -> Entry:
        """Remove record ``index`` (its lines and their comments) and return it."""
        entry = self[index]
        del self[index]
        return entry

    def insert(
        self, index: int, entry: Entry | str, position: int = 0, *, comment: str | None = None
    ) -> None:
        """Insert ``entry`` so that it becomes record ``index``.

        Comment and blank lines between record ``index - 1`` and record ``index`` usually
        describe the record below them. ``position`` says how many of them end up below
        the new record: 0 puts it directly above record ``index`` (or at the end of the
        file), 1 above the last such line, and so on; a negative number counts from the
        record above (-1: directly below record ``index - 1``, or at the top of the file).
        ``comment`` is written after the record (``# `` added when missing).
        """
        new_entry, note = self._coerce(entry)
        new = _Record(new_entry, comment=_comment_text(comment) or note)
        n = len(self._pos)
        if index < 0:
            index = max(0, index + n)
        index = min(index, n)
        lo = self._pos[index - 1] + 1 if index > 0 else 0
        hi = self._pos[index] if index < n else len(self._items)
        at = max(lo, hi - position) if position >= 0 else min(hi, lo + (-position - 1))
        self._items.insert(at, new)
        self._pos.insert(index, at)
        self._correct_indexes_past(index + 1, 1)

    # selection by fields ----------------------------------------------------------------
    def find(self, fields: FieldsLike) -> int:
        """Index of the first record whose leading fields match ``fields``, or -1."""
        query = _query(fields)
        for i, rec in enumerate(self._records()):
            if query.matches(rec.entry):
                return i
        return -1

    def index(self, fields: FieldsLike) -> int:
        """Like ``find``, but raise ``ValueError`` when no record matches."""
        i = self.find(fields)
        if i < 0:
            raise ValueError(f"no record matches {_describe(fields)}")
        return i

    def insert_before(
        self, fields: FieldsLike, entry: Entry | str, *, comment: str | None = None
    ) -> None:
        """Insert ``entry`` directly above the first record matching ``fields``."""
        self.insert(self.index(fields), entry, position=0, comment=comment)

    def insert_after(
        self, fields: FieldsLike, entry: Entry | str, *, comment: str | None = None
    ) -> None:
        """Insert ``entry`` directly below the first record matching ``fields``."""
        self.insert(self.index(fields) + 1, entry, position=-1, comment=comment)

    def __contains__(self, item: object) -> bool:
        """``entry in seq`` compares records; a line of text or field list selects by fields."""
        if isinstance(item, Entry):
            return any(rec.entry == item for rec in self._records())
        if isinstance(item, str) or (
            isinstance(item, _Seq) and all(isinstance(f, str) for f in item)
        ):
            return self.find(item) >= 0
        return False

    def remove(self, fields: FieldsLike) -> Entry:
        """Remove the first record matching ``fields`` and return it (``ValueError`` if none)."""
        return self.pop(self.index(fields))

    def remove_if(self, predicate: Callable[[Entry], object]) -> list[Entry]:
        """Remove every record ``predicate(entry)`` is true for; return them, in order.

        One pass over the file: removing thousands of records takes linear time.
        """
        chosen = {k for k, rec in enumerate(self._records()) if predicate(rec.entry)}
        removed = [self._rec(k).entry for k in sorted(chosen)]
        self._drop(chosen)
        return removed

    # output -----------------------------------------------------------------------------
    def numbered(self) -> list[tuple[int, Entry]]:
        """(line number, entry) of each record as the file would be written now."""
        out: list[tuple[int, Entry]] = []
        line = 1
        for item in self._items:
            if isinstance(item, str):
                line += _count_lines(item)
                continue
            out.append((line, item.lend()))
            line += _count_lines(item.raw) if item.untouched() and item.raw else 1
        return out

    def writeto(self, writer: _Writer | Callable[[str], object]) -> None:
        """Write the file: untouched lines byte for byte, new records like their neighbours."""
        write = _write_function(writer)
        self._layouts = _Layouts(self._items)
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
        return self._format_like(entry.fields(), at, _slots(entry)) + (
            "  " + record.comment if record.comment else ""
        )

    def _format_like(self, fields: list[str], line: int, pl: list[str]) -> str:
        """``fields`` laid out like the records read around item ``line``.

        ``pl`` names each field's place (``type``, ``database``, ``user``, ``address``,
        ``netmask``, ``method``, ``option``): a field goes in the column its place has in
        the nearest one-line records as read (among many new records, those of the new
        record before it), else in initdb's header's, else initdb's.
        """
        memo = self._layouts if self._layouts.items is self._items else _Layouts(self._items)
        neighbours = fmt.nearest(line, len(self._items), self._neighbour)
        if neighbours or memo.last is None:
            memo.last = fmt.layout_of(neighbours, memo.header())
        return fmt.render(fields, pl, memo.last, "")

    def _neighbour(self, k: int) -> fmt.Neighbour | None:
        item = self._items[k]
        if not isinstance(item, _Record) or item.raw is None:
            return None
        line = item.raw.rstrip("\r\n")
        if "\n" in line:
            return None
        return line, _slots(Entry.parse(line, version=self.version))


class _Layouts:
    """What formatting new records of one write remembers: the header, the last layout."""

    def __init__(self, items: list[str | _Record]) -> None:
        self.items = items
        self.last: fmt.Layout | None = None
        self._header: list[dict[str, int] | None] = []

    def header(self) -> dict[str, int] | None:
        if not self._header:
            self._header.append(fmt.header_layout([i for i in self.items if isinstance(i, str)]))
        return self._header[0]


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


def _count_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _describe(fields: FieldsLike) -> str:
    if isinstance(fields, str):
        return repr(fields)
    if isinstance(fields, Entry):
        return repr(str(fields))
    return repr(" ".join(fields))


def _query(fields: FieldsLike) -> Query:
    if isinstance(fields, Entry):
        return Query([str(fields)])
    if isinstance(fields, str):
        return Query([fields])
    return Query(list(fields))


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
    iter: Iterable[str] | str,
    s: Sequence | None = None,
    selector: Callable[[Entry], object] | None = None,
    *,
    version: int | None = None,
    path: str | None = None,
) -> Sequence:
    """The records of ``iter`` (a file opened with ``newline=''``, a list of lines or a string).

    With ``s``, the lines are added at the end of that Sequence, which is returned (its
    ``version`` applies unless one is given). ``selector(entry)`` keeps the records it is
    true for; the others are left out with their lines. Every record is checked, selected or
    not: ``HBAError`` for the first one the server would reject (it refuses the whole
    file). ``version`` (a major version such as 15) selects that release's rules; the
    default is the newest.
    """
    if s is not None and version is None:
        version = s.version
    major = NEWEST if version is None else version
    physical = split_physical(iter)
    _refuse_nul(physical, path)
    logical = join_logical(physical, continuation=major >= 14)
    items: list[str | _Record] = []
    for lg in logical:
        raw = (
            physical[lg.first]
            if lg.count == 1
            else "".join(physical[lg.first : lg.first + lg.count])
        )
        record = _read_record(lg, raw, major, path)
        if record is None:
            items.append(raw)
        elif selector is None or selector(record.entry):
            items.append(record)
    if s is None:
        s = Sequence(version=version, path=path)
    if not s._items:
        s.eol = _eol_of(physical)
    s._extend(items)
    return s


def _refuse_nul(physical: list[str], path: str | None) -> None:
    """``HBAError`` at the first line holding a NUL byte."""
    for lineno, line in enumerate(physical, 1):
        if "\0" in line:
            raise HBAError(
                "a NUL byte: PostgreSQL drops the rest of this line and its line end, joining"
                " the next line to it; remove the NUL byte",
                path,
                lineno,
                line.rstrip("\r\n"),
            )


def _read_record(lg: Logical, raw: str, version: int, path: str | None) -> _Record | None:
    fast = fast_record(lg.text, version)
    if fast is BLANK:
        return None
    if fast is not None:
        cut = comment_start(lg.text)
        record = _Record(None, raw, lg.text[cut:].rstrip(BLANKS) if cut >= 0 else "")
        record.plain = fast
        return record
    rec = _check(lg, version, path)
    if rec is None:
        return None
    entry = Entry._of(
        rec.type,
        [Name(t.value, t.quoted) for t in rec.databases],
        [Name(t.value, t.quoted) for t in rec.users],
        None if rec.address is None else Name(rec.address.value, rec.address.quoted),
        rec.netmask,
        rec.method,
        rec.options,
        rec.path,
    )
    cut = comment_start(lg.text)
    note = lg.text[cut:].rstrip(BLANKS) if cut >= 0 else ""
    return _Record(entry, raw, note)


def _as_name(word: str) -> Name:
    return word if isinstance(word, Name) else plain(word)


def _check(lg: Logical, version: int, path: str | None) -> Record | None:
    """The full path: tokenize and check a record, ``None`` for a blank or comment line."""
    lineno = lg.first + 1
    try:
        fields = tokenize(lg.text, token_limit=version <= 15)
    except TokenTooLong:
        raise HBAError("authentication file token too long", path, lineno, lg.text) from None
    if not fields:
        return None
    try:
        return check_record(fields, version)
    except Rejected as exc:
        raise HBAError(exc.reason, path, lineno, lg.text) from None


def read_file(path: str | os.PathLike[str], version: int | None = None) -> Sequence:
    """``read_config`` of a file, every byte kept (UTF-8 with ``surrogateescape``)."""
    name = os.fspath(path)
    with open(name, encoding="utf-8", errors="surrogateescape", newline="") as fo:
        return read_config(fo.read(), version=version, path=name)


def write_config(
    seq: Iterable[Entry | str], writer: _Writer | Callable[[str], object] | IO[str]
) -> None:
    """Write each record of ``seq`` as one plain line, dropping comments and layout.

    ``seq`` is a ``Sequence`` or any iterable of entries or lines of text (each checked:
    ``HBAError``). ``writer`` is a file object or a ``write``-like callable. To keep a
    file's comments and spacing, use ``Sequence.writeto``.
    """
    write = _write_function(writer)
    for entry in seq:
        if isinstance(entry, str):
            entry = Entry.parse(entry)
        else:
            entry.check()
        write(f"{entry}\n")


def main(args: _Seq[str] | None = None) -> int:
    """``pg-hba FILE list|check|add|remove ...``; returns the exit status (0, 1; 2 for usage)."""
    from ._hba_cli import run

    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
