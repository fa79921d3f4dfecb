"""One logical pg_hba.conf line to its ``Entry``: the fast path where it applies, else the
full tokenizer and check, which raises ``HBAError`` with the server's message.

Private helper of ``hba`` and of ``Sequence`` (which makes the entries of records read by
shape only when they are first used).
"""

from __future__ import annotations

from ._hba_check import check_record
from ._hba_entry import Entry, HBAError
from ._hba_fast import BLANK, Plain, fast_record
from ._hba_lex import BLANKS, TokenTooLong, comment_start, tokenize
from ._hba_names import Name, plain
from ._hba_values import Rejected


def line_comment(text: str) -> str:
    """The comment ending a logical line, blanks after it dropped (``""`` when none)."""
    cut = comment_start(text)
    return text[cut:].rstrip(BLANKS) if cut >= 0 else ""


def parse_record(
    text: str, version: int, path: str | None = None, lineno: int | None = None
) -> Entry | None:
    """The entry of a logical line, ``None`` for a blank or comment line.

    ``HBAError`` (at ``path`` and ``lineno``) when the server would reject the record.
    """
    fast = fast_record(text, version)
    if fast is BLANK:
        return None
    if fast is not None:
        return plain_entry(fast)
    try:
        fields = tokenize(text, token_limit=version <= 15)
    except TokenTooLong:
        raise HBAError("authentication file token too long", path, lineno, text) from None
    if not fields:
        return None
    try:
        rec = check_record(fields, version)
    except Rejected as exc:
        raise HBAError(exc.reason, path, lineno, text) from None
    return Entry._of(
        rec.type,
        [Name(t.value, t.quoted) for t in rec.databases],
        [Name(t.value, t.quoted) for t in rec.users],
        None if rec.address is None else Name(rec.address.value, rec.address.quoted),
        rec.netmask,
        rec.method,
        rec.options,
        rec.path,
    )


def plain_entry(fast: Plain) -> Entry:
    """The entry of a record the fast path read."""
    return Entry._of(
        fast.type,
        [_as_name(w) for w in fast.databases],
        [_as_name(w) for w in fast.users],
        None if fast.address is None else _as_name(fast.address),
        fast.netmask,
        fast.method,
        fast.options,
    )


def _as_name(word: str) -> Name:
    return word if isinstance(word, Name) else plain(word)
