"""One record of a pg_hba.conf ``Sequence``: its entry, the text it was read from, its comment.

Private helper of ``hba``. A record read by its shape alone gets its entry and comment
only when they are first asked for; a record remembers whether its entry changed since
it was handed out, so an untouched record is written back byte for byte.
"""

from __future__ import annotations

from ._hba_entry import Entry, HBAError
from ._hba_parse import line_comment, parse_record


def comment_text(text: str | None) -> str:
    """A trailing comment as written: ``# text`` (a leading ``#`` is kept, not doubled)."""
    if not text:
        return ""
    if "\n" in text or "\r" in text or "\0" in text:
        raise HBAError(f"a comment cannot hold a line break or a NUL: {text!r}")
    text = text.strip(" \t")
    return text if text.startswith("#") else f"# {text}"


class Record:
    """A record of a Sequence: its entry, the exact text it was read from, its comment.

    A record read by its shape alone (``version`` set) has neither entry nor comment until
    they are first asked for: both come from ``raw``, a single physical line the read
    already checked. ``snapshot`` is the entry's comparison key, taken the first time the
    entry is handed out (an entry never handed out cannot have been changed): a record
    whose entry still has that key is written as it was read.
    """

    __slots__ = ("_comment", "_entry", "raw", "snapshot", "version")

    def __init__(
        self,
        entry: Entry | None,
        raw: str | None = None,
        comment: str | None = "",
        version: int | None = None,
    ) -> None:
        self._entry = entry
        self.raw = raw
        self._comment = comment
        self.version = version  # the rules to make the entry with, until it is made
        self.snapshot: tuple[object, ...] | None = None

    @property
    def entry(self) -> Entry:
        """The record's entry, made from its line the first time it is needed."""
        if self._entry is None:
            assert self.raw is not None and self.version is not None
            entry = parse_record(self.raw.rstrip("\r\n"), self.version)
            assert entry is not None
            self._entry = entry
        return self._entry

    @entry.setter
    def entry(self, entry: Entry) -> None:
        self._entry = entry

    @property
    def comment(self) -> str:
        """The trailing comment (``# ...``), or ``""``."""
        if self._comment is None:
            assert self.raw is not None
            self._comment = line_comment(self.raw.rstrip("\r\n"))
        return self._comment

    @comment.setter
    def comment(self, text: str) -> None:
        self._comment = text

    def lend(self) -> Entry:
        if self.raw is not None and self.snapshot is None:
            self.snapshot = self.entry._key()
        return self.entry

    def untouched(self) -> bool:
        return self.raw is not None and (
            self.snapshot is None or self.entry._key() == self.snapshot
        )
