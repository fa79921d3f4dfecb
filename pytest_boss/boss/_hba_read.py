"""The lines of a pg_hba.conf file as a Sequence's items: the loop behind ``hba.read_config``.

Private helper of ``hba``. Most lines of a big file are records of a common shape or
comments: ``_hba_shape`` accepts such a line in one match, and its entry and comment are made
only when first used. Every other line is read by ``_hba_parse`` (the fast path, else the
full tokenizer and check), which raises ``HBAError`` with the line number.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from ._hba_entry import Entry, HBAError
from ._hba_lex import MAX_TOKEN, join_at
from ._hba_parse import line_comment, parse_record
from ._hba_record import Record
from ._hba_shape import BLANK_LINE, details_accepted, shape_matcher

Items = tuple[list[str | Record], list[int]]
Selector = Callable[[Entry], object] | None
#: A physical line ending with a backslash (its line end stripped): the record continues.
_CONTINUED = re.compile(r"\\\r*(?:\n|\Z)")


def read_lines(physical: list[str], version: int, path: str | None, selector: Selector) -> Items:
    """The items of ``physical`` lines (a str per line, a record per record) and the
    indexes of the records among them; ``HBAError`` for the first rejected record."""
    text = "".join(physical)
    if "\0" in text:
        refuse_nul(physical, path)
    joining = version >= 14 and "\\" in text and _CONTINUED.search(text) is not None
    items: list[str | Record] = []
    positions: list[int] = []
    add = items.append
    shape = shape_matcher(version).match
    blank = BLANK_LINE.match
    short = MAX_TOKEN // 4 if version <= 15 else sys.maxsize
    skip = 0  # the physical lines before this one belong to a record already read
    record: Record | None
    for lineno, raw in enumerate(physical, 1):
        if lineno <= skip:
            continue
        if joining and raw.rstrip("\r\n").endswith("\\"):
            raw, record, skip = _continued(physical, lineno, version, path)
        else:
            match = shape(raw) if len(raw) < short else None
            if match is not None and (
                (match["v6"] is None and not match["options"]) or details_accepted(match, version)
            ):
                record = Record(None, raw, None, version)
            elif blank(raw):
                record = None
            else:
                record = _full(raw, raw.rstrip("\r\n"), version, path, lineno)
        if record is None:
            add(raw)
        elif selector is None or selector(record.entry):
            positions.append(len(items))
            add(record)
    return items, positions


def _continued(
    physical: list[str], lineno: int, version: int, path: str | None
) -> tuple[str, Record | None, int]:
    """The lines of a record that continues after line ``lineno``: (their text, the
    record or ``None``, the number of the last of them)."""
    lg = join_at(physical, lineno - 1)
    end = lg.first + lg.count
    raw = "".join(physical[lg.first : end])
    return raw, _full(raw, lg.text, version, path, lineno), end


def _full(raw: str, text: str, version: int, path: str | None, lineno: int) -> Record | None:
    """The record of a logical line read by the fast path or the full check, or ``None``."""
    entry = parse_record(text, version, path, lineno)
    if entry is None:
        return None
    return Record(entry, raw, line_comment(text))


def refuse_nul(physical: list[str], path: str | None) -> None:
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
