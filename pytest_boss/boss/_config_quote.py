"""Quoting of postgresql.conf values: literals the server reads back exactly, and their inverse.

Private helper of ``config``, which re-exports ``quote_value``, ``unquote`` and ``render``.
"""

from __future__ import annotations

import math
import re

ENCODING = "utf-8"
ENCODING_ERRORS = "surrogateescape"

#: The values ``alter_config`` and ``write_config`` accept; ``None`` means "comment out".
Value = str | bool | int | float

_QUOTE_TABLE = {ord("\\"): "\\\\", ord("'"): "''", ord("\n"): "\\n", ord("\r"): "\\r"}
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_OCTAL = re.compile(r"[0-7]{1,3}")


def quote_value(value: str) -> str:
    """A single-quoted literal that PostgreSQL reads back as exactly ``value``.

    Doubles ``'`` and ``\\``; writes newline and carriage return as ``\\n`` and ``\\r``
    (a raw newline cannot be inside a string, and a raw CR would be fragile). A NUL
    character cannot be stored in a setting: ``ValueError``.
    """
    if "\0" in value:
        raise ValueError(f"a setting cannot hold a NUL character: {value!r}")
    return "'" + value.translate(_QUOTE_TABLE) + "'"


def unquote(token: str, quote: str = "'") -> str:
    """The value a token stands for: quoted strings lose quotes and escapes, others unchanged.

    Escapes follow the server's ``DeescapeQuotedString``: ``''`` and ``\\'`` are a quote,
    ``\\b \\f \\n \\r \\t``, one to three octal digits give one byte (values above 255 wrap,
    and a zero byte ends the value), any other escaped character stands for itself.

    A raw NUL byte inside the quotes ends the server's copy of the token: it reads what
    comes before the NUL as if its last character were the closing quote (``'ab<NUL>cd'``
    is ``a``), and so does this function.
    """
    nul = token.find("\0")
    if nul >= 0 and token.startswith(quote):
        return _deescape(token[len(quote) : nul], quote, drop_last=True)
    if len(token) < 2 or not token.startswith(quote) or not token.endswith(quote):
        return token
    return _deescape(token[len(quote) : -len(quote)], quote)


def _deescape(body: str, quote: str, drop_last: bool = False) -> str:
    """The body of a quoted string with its escapes applied, cut at a zero byte.

    ``drop_last`` drops the last byte, as the server does with what it takes for the
    closing quote.
    """
    out: list[str] = []
    raw_bytes = False
    i = 0
    n = len(body)
    while i < n:
        char = body[i]
        if char == "\\" and i + 1 < n:
            escaped = body[i + 1]
            octal = _OCTAL.match(body, i + 1)
            if octal is not None:
                byte = int(octal.group(), 8) & 0xFF
                if byte >= 0x80:
                    # One raw byte: kept as surrogateescape so UTF-8 sequences reassemble.
                    out.append(chr(0xDC00 + byte))
                    raw_bytes = True
                else:
                    out.append(chr(byte))
                i = octal.end()
                continue
            out.append(_SIMPLE_ESCAPES.get(escaped, escaped))
            i += 2
        elif body.startswith(quote + quote, i):
            out.append(quote)
            i += 2 * len(quote)
        else:
            out.append(char)
            i += 1
    value = "".join(out)
    if raw_bytes or drop_last:
        data = value.encode(ENCODING, ENCODING_ERRORS)
        value = (data[:-1] if drop_last else data).decode(ENCODING, ENCODING_ERRORS)
    nul = value.find("\0")
    return value if nul < 0 else value[:nul]


def render(value: Value) -> str:
    """A value as a token: strings quoted, booleans ``on``/``off``, numbers bare."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return quote_value(repr(value))
        text = repr(value)
        if "." not in text:  # '1e-05' would read as the integer '1e' and another token
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}.0e{exponent}" if exponent else f"{mantissa}.0"
        return text
    if isinstance(value, str):
        return quote_value(value)
    raise TypeError(
        f"a setting value must be str, int, float or bool (or None to comment it out), "
        f"not {type(value).__name__}: {value!r}"
    )
