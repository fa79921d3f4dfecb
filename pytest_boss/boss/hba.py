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
from collections.abc import Callable, Iterable
from collections.abc import Sequence as _Seq
from typing import IO

from ._hba_check import NEWEST
from ._hba_entry import (
    Entry,
    HBAError,
    HBAVersionError,
    register_reader,
    require_version,
    version_features,
)
from ._hba_lex import TokenTooLong, split_physical, tokenize
from ._hba_names import ADDRESS_KEYWORDS, KEYWORDS, Name
from ._hba_read import read_lines
from ._hba_sequence import Sequence, Writer, write_function

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


def _eol_of(physical: list[str]) -> str:
    for line in physical:
        if line.endswith("\n"):
            return "\r\n" if line.endswith("\r\n") else "\n"
    return "\n"


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
    items, positions = read_lines(physical, major, path, selector)
    if s is None:
        s = Sequence(version=version, path=path)
    if not s._items:
        s.eol = _eol_of(physical)
    s._extend_read(items, positions)
    return s


def read_file(path: str | os.PathLike[str], version: int | None = None) -> Sequence:
    """``read_config`` of a file, every byte kept (UTF-8 with ``surrogateescape``)."""
    name = os.fspath(path)
    with open(name, encoding="utf-8", errors="surrogateescape", newline="") as fo:
        return read_config(fo.read(), version=version, path=name)


def write_config(
    seq: Iterable[Entry | str], writer: Writer | Callable[[str], object] | IO[str]
) -> None:
    """Write each record of ``seq`` as one plain line, dropping comments and layout.

    ``seq`` is a ``Sequence`` or any iterable of entries or lines of text (each checked:
    ``HBAError``). ``writer`` is a file object or a ``write``-like callable. To keep a
    file's comments and spacing, use ``Sequence.writeto``.
    """
    write = write_function(writer)
    for entry in seq:
        if isinstance(entry, str):
            entry = Entry.parse(entry)
        else:
            entry.check()
        write(f"{entry}\n")


register_reader(read_config)


def main(args: _Seq[str] | None = None) -> int:
    """``pg-hba FILE list|check|add|remove ...``; returns the exit status (0, 1; 2 for usage)."""
    from ._hba_cli import run

    return run(args, read_file=read_file)


if __name__ == "__main__":
    raise SystemExit(main())
