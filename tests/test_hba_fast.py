"""The fast path of the pg_hba.conf reader gives what the full tokenizer and check give.

``_hba_fast.fast_record`` may decline any line (the full path then reads it), but a line
it accepts must have the very parts ``check_record(tokenize(line))`` gives, quoting
included, and a line the full check rejects must never be accepted.
"""

from __future__ import annotations

import pytest
from hba_paths import full
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_boss.boss._hba_fast import BLANK, fast_record

WORDS = [
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "include",
    "all",
    '"all"',
    "sameuser",
    "+g",
    "@f",
    "/^a",
    "db",
    "u",
    "a,b",
    "a,",
    ",b",
    "10.0.0.0/8",
    "10.0.0.1",
    "255.0.0.0",
    "::1/128",
    "::1",
    "ffff::",
    "010.0.0.1",
    "127.1",
    "fe80::1%lo",
    "host.example.com",
    "samehost",
    '"samenet"',
    "trust",
    "reject",
    "md5",
    "peer",
    "ident",
    "cert",
    "gss",
    "ldap",
    "radius",
    "oauth",
    "scram-sha-256",
    "map=m",
    "clientcert=verify-full",
    "clientcert=verify-ca",
    "ldapbasedn=dc=x",
    "ldapprefix=a",
    "radiusservers=r",
    "radiussecrets=s",
    "x",
    "#",
    "# c",
    '"a b"',
    '"a,b"',
    '"x"y',
    'a"b c"d',
    '""',
    '"',
    "\\",
    "a=1,b=2",
    "/24",
    "10.0.0.0/33",
]
SEPARATORS = [" ", "  ", "\t", ",", ", ", " ,", "\r"]


def _parts(rec: object) -> tuple[object, ...]:
    return tuple(getattr(rec, k) for k in ("type", "method", "netmask"))


def _names(values: list[object]) -> list[tuple[str, bool]]:
    return [(str(getattr(v, "value", v)), bool(getattr(v, "quoted", False))) for v in values]


def compare(text: str, version: int) -> None:
    fast = fast_record(text, version)
    if fast is None:
        return
    want = full(text, version)
    if fast is BLANK:
        assert want is None, (text, want)
        return
    assert not isinstance(want, str) and want is not None, (text, want)
    assert (fast.type, fast.method, fast.netmask) == _parts(want)
    assert _names(fast.databases) == _names(want.databases)  # type: ignore[attr-defined]
    assert _names(fast.users) == _names(want.users)  # type: ignore[attr-defined]
    address = [] if fast.address is None else [fast.address]
    assert _names(address) == _names([] if want.address is None else [want.address])  # type: ignore[attr-defined]
    assert fast.options == want.options  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", [13, 15, 16, 18])
@pytest.mark.parametrize(
    "text",
    [
        "host all all 10.0.0.0/8 md5",
        "host all all 10.0.0.1 255.0.0.0 md5",
        "host all all 10.0.0.1 ffff:: md5",
        "local all all ident",
        "host all all ::1/128 peer",
        'hostssl "db 1",x +g fe80::1/64 cert clientcert=verify-full',
        "host a, b c  all md5",
        "host a ,b c all md5",
        "local /^x all trust",
        "host all all samehost trust # comment",
        'host all all "samehost" trust',
        "host all all 10.0.0.0/33 trust",
        "ldap all all ldap",
        "local all all ldap ldapbasedn=dc=x",
        "local all all ldap",
        "  # only a comment",
        "",
    ],
)
def test_known_lines(text: str, version: int) -> None:
    compare(text, version)


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=9),
    st.sampled_from([15, 16, 18]),
)
@example(
    [("host", " "), ("all", " "), ("all", " "), ("10.0.0.1", " "), ("255.0.0.0", " "), ("md5", "")],
    18,
)
def test_random_lines(parts: list[tuple[str, str]], version: int) -> None:
    compare("".join(w + s for w, s in parts), version)
