"""Setting values typed as the server reads them (``guc.c``: ``parse_bool``, ``parse_int``,
``parse_real``, ``convert_to_base_unit``, ``config_enum_lookup_by_name``).

Private helper of ``config``. Integers come out in the setting's base unit, the number
``pg_settings.setting`` and ``postgres -C`` show: ``work_mem = '1.5MB'`` is 1536 (kB),
``statement_timeout = '2min'`` is 120000 (ms).
"""

from __future__ import annotations

import math
import re

from ._config_types import ENUMS, KINDS, OLDER

Typed = bool | int | float | str

#: Multipliers of each unit a value may carry, per base unit, largest first (as the
#: server's tables: a fraction is rounded to the next smaller unit of the same table).
_MEMORY = {"TB": 1024.0**4, "GB": 1024.0**3, "MB": 1024.0**2, "kB": 1024.0, "B": 1.0}
_TIME = {"d": 86400000.0, "h": 3600000.0, "min": 60000.0, "s": 1000.0, "ms": 1.0, "us": 0.001}
_BASE_BYTES = {"B": 1.0, "kB": 1024.0, "MB": 1024.0**2, "8kB": 8192.0}
_BASE_MS = {"ms": 1.0, "s": 1000.0, "min": 60000.0}
_INT_MAX = 2**31 - 1

_SPACE = " \t\n\r\f\v"
_STRTOL = re.compile(r"[ \t\n\r\f\v]*[-+]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_STRTOD = re.compile(
    r"[ \t\n\r\f\v]*[-+]?(?:"
    r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][-+]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
    r"|inf(?:inity)?|nan)",
    re.IGNORECASE,
)
_TABLE = {name.lower(): kind for kind, names in KINDS.items() for name in names}
_ENUMS = {name.lower(): values for name, values in ENUMS.items()}


def kind_of(name: str, version: int | None = None) -> tuple[str, str]:
    """(vartype, unit) of a built-in setting; a name with a dot is a string (a placeholder).

    ``KeyError`` for a name PostgreSQL does not know.
    """
    key = name.lower()
    older = OLDER.get(key)
    if older is not None and version is not None and version <= older[0]:
        return older[1]
    if key not in _TABLE and "." in key:
        return "string", ""
    return _TABLE[key]


def _strtod(text: str) -> tuple[float, str] | None:
    match = _STRTOD.match(text)
    if match is None:
        return None
    number = match.group().strip(_SPACE)
    body = number.lstrip("+-")
    if body[:2].lower() == "0x":
        value = float.fromhex(number if "p" in body.lower() else number + "p0")
    else:
        value = float(number)
    return value, text[match.end() :]


def _number(text: str, integer: bool) -> tuple[float, str]:
    """The leading number of ``text`` as ``strtol`` (base 0) then ``strtod`` read it."""
    parsed: tuple[float, str] | None = None
    if integer:
        match = _STRTOL.match(text)
        if match is not None:
            digits = match.group().strip(_SPACE)
            sign = -1 if digits.startswith("-") else 1
            body = digits.lstrip("+-")
            base = 16 if body[:2].lower() == "0x" else 8 if body[:1] == "0" else 10
            rest = text[match.end() :]
            parsed = (float(sign * int(body, base)), rest)
            if rest[:1] in (".", "e", "E") or abs(parsed[0]) > 2**63 - 1:
                parsed = None
    if parsed is None:
        parsed = _strtod(text)
    if parsed is None:
        raise ValueError(f"invalid value {text!r}: not a number")
    return parsed


def _convert(value: float, unit_text: str, unit: str) -> float:
    """``convert_to_base_unit``: ``value`` given in ``unit_text`` into ``unit``."""
    word = unit_text.strip(_SPACE)
    if not unit or len(word) > 3 or any(c in _SPACE for c in word):
        hint = "this setting takes no unit" if not unit else f"its base unit is {unit}"
        raise ValueError(f"invalid unit {unit_text!r}: {hint}")
    table, base = (_MEMORY, _BASE_BYTES[unit]) if unit in _BASE_BYTES else (_TIME, _BASE_MS[unit])
    if word not in table:
        units = ", ".join(table)
        raise ValueError(f"invalid unit {word!r}: valid units for this setting are {units}")
    names = list(table)
    result = value * table[word] / base
    at = names.index(word)
    if at + 1 < len(names):
        step = table[names[at + 1]] / base
        result = _rint(result / step) * step
    return result


def _rint(value: float) -> float:
    return float(round(value)) if math.isfinite(value) else value


def parse_bool(text: str) -> bool:
    """``parse_bool``: a non-empty prefix of true/false/yes/no, on/off, 1/0, any case."""
    low = text.lower()
    if low and low[0] in "tfyn":
        for word, result in (("true", True), ("false", False), ("yes", True), ("no", False)):
            if word.startswith(low):
                return result
    elif low in ("on",):
        return True
    elif low in ("of", "off"):
        return False
    elif low in ("1", "0"):
        return low == "1"
    raise ValueError(f"invalid value {text!r}: a boolean is on/off, true/false, yes/no or 1/0")


def parse_number(text: str, integer: bool, unit: str) -> int | float:
    """``parse_int`` / ``parse_real``: the value in base units (integers rounded half even)."""
    value, rest = _number(text, integer)
    if math.isnan(value):
        raise ValueError(f"invalid value {text!r}: not a number")
    if rest.strip(_SPACE):
        value = _convert(value, rest.lstrip(_SPACE), unit)
    if not integer:
        return value
    value = _rint(value)
    if not -_INT_MAX - 1 <= value <= _INT_MAX:
        raise ValueError(f"invalid value {text!r}: outside the integer range")
    return int(value)


def parse_enum(name: str, text: str) -> str:
    """The enum value ``text`` names, as the server spells it (compared case-insensitively)."""
    values = _ENUMS.get(name.lower(), ())
    for value in values:
        if value.lower() == text.lower():
            return value
    raise ValueError(
        f"{text!r} is not one of the values of {name} ({', '.join(values)}); the server may"
        " still take it as a hidden alias of one of them: ask it (SHOW)"
    )


def typed(name: str, text: str, vartype: str, unit: str = "") -> Typed:
    """``text`` (a value as ``read_config`` returns it) as the server reads it."""
    kind = vartype.lower()
    if kind in ("bool", "boolean"):
        return parse_bool(text)
    if kind in ("integer", "real"):
        return parse_number(text, kind == "integer", unit)
    if kind == "enum":
        return parse_enum(name, text)
    if kind == "string":
        return text
    raise ValueError(f"unknown setting type {vartype!r}: bool, integer, real, enum or string")
