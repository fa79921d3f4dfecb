"""Columns of new pg_hba.conf records: taken from the records around them, or initdb's header.

Private helper of ``hba``: a record added to a file is spaced like its nearest one-line
neighbours as read (tabs or spaces, and the column of each field), so an edited file still
reads as a table. Only a bounded window around the new record is looked at, so formatting
many new records stays linear in the size of the file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ._hba_lex import tokenize

#: Where initdb puts the columns (type, database, user, address, method).
DEFAULT_COLUMNS = {"type": 0, "database": 8, "user": 24, "address": 40, "method": 64}
#: How many items either side of a new record are searched for neighbours.
WINDOW = 64
#: How many neighbours give columns at most.
NEIGHBOURS = 8

#: A neighbour: its text as read (one physical line, no line end) and its fields' slots.
Neighbour = tuple[str, list[str]]
Layout = tuple[dict[str, int], bool]


def advance(col: int, text: str) -> int:
    """The display column after ``text`` (tab stops every 8 columns)."""
    for c in text:
        col = (col // 8 + 1) * 8 if c == "\t" else col + 1
    return col


def pad(col: int, target: int, tabs: bool) -> str:
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


def nearest(at: int, count: int, neighbour: Callable[[int], Neighbour | None]) -> list[Neighbour]:
    """Up to ``NEIGHBOURS`` neighbours of item ``at``, closest first, within ``WINDOW``.

    ``neighbour(k)`` gives item ``k`` as a neighbour, or ``None`` when it is not a one-line
    record as read. Item ``at`` itself comes first (a record being rewritten).
    """
    found: list[Neighbour] = []
    for distance in range(WINDOW + 1):
        for k in (at - distance, at + distance) if distance else (at,):
            if 0 <= k < count:
                item = neighbour(k)
                if item is not None:
                    found.append(item)
        if len(found) >= NEIGHBOURS:
            break
    return found[:NEIGHBOURS]


def layout_of(neighbours: Sequence[Neighbour], header: dict[str, int] | None) -> Layout:
    """Columns of each slot and tab use, from neighbours; else the header; else initdb's.

    Records written with single spaces give no columns: the new record gets single spaces.
    """
    layout: dict[str, int] = {}
    tabs: bool | None = None
    compact = False
    for line, slots in neighbours:
        fields = tokenize(line)
        gaps = [line[a.end : b.start] for a, b in itertools.pairwise(fields)]
        if tabs is None:
            tabs = any("\t" in g for g in gaps)
            compact = all(g == " " for g in gaps)
        for slot, f in zip(slots, fields, strict=False):
            if slot not in layout and slot != "option+":
                layout[slot] = advance(0, line[: f.start])
        if all(s in layout for s in DEFAULT_COLUMNS):
            break
    if compact:
        return {}, False
    if not layout:
        layout = dict(header or DEFAULT_COLUMNS)
    if "address" not in layout and "user" in layout and "database" in layout:
        layout["address"] = layout["user"] + (layout["user"] - layout["database"])
    return layout, bool(tabs)


def header_layout(lines: Sequence[str]) -> dict[str, int] | None:
    """Columns of an initdb-style ``# TYPE  DATABASE  USER  ADDRESS  METHOD`` comment."""
    for item in lines:
        line = item.rstrip("\r\n")
        if not line.startswith("#"):
            continue
        words = line.lstrip("# \t").split()
        if words[:3] == ["TYPE", "DATABASE", "USER"]:
            layout = {"type": 0}
            for word in ("DATABASE", "USER", "ADDRESS", "METHOD"):
                pos = line.find(word)
                if pos > 0:
                    layout[word.lower()] = advance(0, line[:pos])
            return layout
    return None


def render(fields: Sequence[str], slots: Sequence[str], layout: Layout, comment: str) -> str:
    """The fields laid out in ``layout``'s columns, then the comment after two blanks."""
    columns, tabs = layout
    out = ""
    col = 0
    for i, (slot, text) in enumerate(zip(slots, fields, strict=False)):
        if i:
            sep = pad(col, columns.get(slot, -1), tabs)
            out += sep
            col = advance(col, sep)
        out += text
        col = advance(col, text)
    if comment:
        out += "  " + comment
    return out
