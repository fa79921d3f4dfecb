"""The full path of the pg_hba.conf reader (tokenizer, then record check), which the faster
paths (`_hba_fast`, `_hba_shape`) are compared with in their tests."""

from __future__ import annotations

from pytest_boss.boss._hba_check import check_record
from pytest_boss.boss._hba_lex import TokenTooLong, tokenize
from pytest_boss.boss._hba_values import Rejected


def full(text: str, version: int) -> object:
    """What the full path says of one line: None (blank), the record, or the rejection."""
    try:
        fields = tokenize(text, token_limit=version <= 15)
    except TokenTooLong:
        return "too long"
    if not fields:
        return None
    try:
        return check_record(fields, version)
    except Rejected as exc:
        return exc.reason
