"""The records of one pg_hba.conf file as a list: ``Sequence``, which keeps every other line.

Private helper of ``hba`` (which re-exports ``Sequence``). Records keep their positions
among the file's lines in a list, so indexing and ``len`` take constant time; a record
read from the file is written back byte for byte until its entry changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Sequence as _Seq
from typing import IO, Protocol, overload

from . import _hba_format as fmt
from ._atomic import atomic_write_text
from ._hba_entry import Entry, HBAError
from ._hba_entry import _reader as reader
from ._hba_query import Query
from ._hba_record import Record, comment_text

FieldsLike = str | Entry | _Seq[str]


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...


def write_function(writer: Writer | Callable[[str], object] | IO[str]) -> Callable[[str], object]:
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
        self._items: list[str | Record] = []  # every logical line, in file order
        self._pos: list[int] = []  # _items index of each record
        self._layouts = _Layouts(self._items)
        reader()(iterable, self)  # reading is hba's job

    def _extend(self, items: Iterable[str | Record]) -> None:
        for item in items:
            if isinstance(item, Record):
                self._pos.append(len(self._items))
            self._items.append(item)

    def _extend_read(self, items: list[str | Record], positions: list[int]) -> None:
        """Add the lines of a read; ``positions`` are the indexes of its records in ``items``."""
        base = len(self._items)
        self._pos.extend([base + k for k in positions] if base else positions)
        self._items.extend(items)

    def _rec(self, index: int) -> Record:
        item = self._items[self._pos[index]]
        assert isinstance(item, Record)
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
            assert isinstance(item, Record)
            yield item.lend()

    def _records(self) -> Iterator[Record]:
        """The records in order, without handing their entries out."""
        for at in self._pos:
            item = self._items[at]
            assert isinstance(item, Record)
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
                seq = reader()(entry, version=self.version)
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
        new = Record(new_entry, comment=comment_text(comment) or note)
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

    def writeto(self, writer: Writer | Callable[[str], object]) -> None:
        """Write the file: untouched lines byte for byte, new records like their neighbours."""
        write = write_function(writer)
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
    def _format(self, at: int, record: Record) -> str:
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
        if not isinstance(item, Record) or item.raw is None:
            return None
        line = item.raw.rstrip("\r\n")
        if "\n" in line:
            return None
        return line, _slots(Entry.parse(line, version=self.version))


class _Layouts:
    """What formatting new records of one write remembers: the header, the last layout."""

    def __init__(self, items: list[str | Record]) -> None:
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
