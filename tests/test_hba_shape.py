"""The shape path of the pg_hba.conf reader agrees with the full tokenizer and check.

``_hba_shape.shape_accepts`` may decline any line, but a line it accepts must be a record
the full check accepts. ``read_config`` with the shape path must give the very entries,
comments, text and errors it gives without it (every line then takes the fast path or the
full check), on tricky lines and on random files.
"""

from __future__ import annotations

import re
from unittest import mock

import pytest
from hba_paths import full
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_boss.boss import _hba_read, hba
from pytest_boss.boss._hba_shape import POSSESSIVE, shape_accepts

pytestmark = pytest.mark.unit

WORDS = [
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "hostnogssenc",
    '"host"',
    "include",
    "all",
    '"all"',
    "sameuser",
    "replication",
    "+g",
    '"+g"',
    "@f",
    "/^a",
    '"/^a"',
    "/(",
    "db",
    "u",
    "a,b",
    "a,",
    ",b",
    "a,,b",
    "hôte",
    "a\x0bb",
    "10.0.0.0/8",
    "10.0.0.0/0",
    "10.0.0.0/00",
    "10.0.0.0/32",
    "10.0.0.0/033",
    "10.0.0.0/+8",
    "10.0.0.1",
    "255.0.0.0",
    "256.0.0.0",
    "10.0.0.1x",
    "0x0a.0.0.1/8",
    "::1/128",
    "::1/129",
    "::1",
    "ffff::",
    "fe80::1/64",
    "fe80::1%lo/64",
    "::ffff:1.2.3.4/128",
    "1:2/64",
    "a:b",
    "g:h",
    "010.0.0.1",
    "127.1",
    "host.example.com",
    ".example.com",
    "host/24",
    "samehost",
    "samenet",
    '"samenet"',
    "trust",
    "reject",
    "md5",
    "md5x",
    "password",
    "scram-sha-256",
    "peer",
    "ident",
    "cert",
    "gss",
    "sspi",
    "pam",
    "bsd",
    "ldap",
    "radius",
    "oauth",
    "map=m",
    "map=",
    "map=a=b",
    'map="a b"',
    "=x",
    "clientcert=verify-full",
    "clientcert=verify-ca",
    "clientcert=no",
    "clientname=CN",
    "clientname=XY",
    "include_realm=0",
    "krb_realm=R",
    "upn_username=1",
    "pamservice=p",
    "ldapbasedn=dc=x",
    "radiusservers=r",
    "radiussecrets=s",
    "x",
    "#",
    "# c",
    '"a b"',
    '"a,b"',
    '"a#b"',
    '"x"y',
    'a"b c"d',
    '""',
    '"a""b"',
    '"',
    "\\",
    "a=1,b=2",
    "/24",
]
SEPARATORS = [" ", "  ", "\t", ",", ", ", " ,", "\r", ""]
ENDS = ["", "\n", "\r\n", "\r"]


def compare(line: str, version: int) -> None:
    if shape_accepts(line, version):
        want = full(line.rstrip("\r\n"), version)
        assert want is not None and not isinstance(want, str), (line, want)


COMMON = [
    "host all all 10.0.0.0/8 md5\n",
    "host all all 10.0.0.0/0 trust\r\n",
    "host\tall\tall\t10.0.0.1\t255.255.255.0\tscram-sha-256",
    "hostssl db,x +g fe80::1/64 cert clientcert=verify-full",
    'hostssl "db 1",x +g ::1/128 cert clientcert=verify-full  # note\n',
    "hostnossl replication r host.example.com reject  # old\n",
    "local all u peer map=m\n",
    "local all u ident map=m\n",
    "host all all samehost trust # comment",
    "hostgssenc all all .example.com gss include_realm=0 krb_realm=R\n",
    "  ,host a, b c 10.0.0.0/8 md5,\n",
]


@pytest.mark.skipif(not POSSESSIVE, reason="the shape path needs Python 3.11+")
@pytest.mark.parametrize("version", [13, 15, 16, 18])
@pytest.mark.parametrize("line", COMMON)
def test_common_shapes_are_accepted(line: str, version: int) -> None:
    """The shapes big files are made of take the shape path (else reading them is slow)."""
    assert shape_accepts(line, version)
    compare(line, version)


@pytest.mark.parametrize("version", [15, 16, 18])
@pytest.mark.parametrize(
    "line",
    [
        "host all all 10.0.0.0/33 md5",
        "host all all 10.0.0.1 md5",
        "host all all ::1/129 md5",
        "host all all 1:2/64 md5",
        "host all all fe80::1%lo/64 md5",
        "host,x all all 10.0.0.0/8 md5",
        "host all all 10.0.0.0/8,x md5",
        "host all all 10.0.0.0/8 md5, map=x",
        "host all all 10.0.0.0/8 md5 map=x",
        "host all all host/24 md5",
        "local all all gss",
        "host all all 10.0.0.0/8 peer",
        "hostnossl all all 10.0.0.0/8 cert",
        "local all all ldap ldapbasedn=dc=x",
        'local "a""b" all trust',
        'local "a b all trust',
        '"local" all all trust',
        "local all all trust x",
        "local all all trust =x",
        'local all all peer map="a b"',
        "hostssl all all ::1/128 cert clientcert=verify-ca",
        "hostssl all all ::1/128 md5 clientname=XY",
        "local all all md5 include_realm=0",
        "include file",
    ],
)
def test_shapes_it_leaves_to_the_full_path(line: str, version: int) -> None:
    assert not shape_accepts(line, version)


def test_names_starting_with_a_slash_are_left_to_the_full_path_from_16() -> None:
    assert shape_accepts("local /( all trust", 15)
    assert not shape_accepts("local /( all trust", 16)
    assert not shape_accepts('local all "/^a" trust', 16)


def test_long_lines_are_left_to_the_full_path_before_16() -> None:
    line = "local " + "d" * 10240 + " all trust"
    assert not shape_accepts(line, 15)
    assert shape_accepts(line, 16)
    compare(line, 16)


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=9),
    st.sampled_from(ENDS),
    st.sampled_from([13, 15, 16, 18]),
)
@example([("local", " "), ("a", ", "), ("b", " "), ("all", " "), ("trust", "")], "\n", 18)
def test_random_lines(parts: list[tuple[str, str]], end: str, version: int) -> None:
    compare("".join(w + s for w, s in parts) + end, version)


def _outcome(text: str, version: int, shapes: bool) -> object:
    """What ``read_config`` gives: each record's key and comment, the text, or the error."""
    never = re.compile(r"(?!)")
    with mock.patch.object(
        _hba_read,
        "shape_matcher",
        (lambda version: never) if not shapes else _hba_read.shape_matcher,
    ):
        try:
            seq = hba.read_config(text, version=version)
        except hba.HBAError as exc:
            return ("error", exc.reason, exc.lineno, exc.line)
    records = [(rec.entry._key(), rec.comment) for rec in seq._records()]
    return records, seq.text(), [str(e) for e in seq]


def test_reading_by_shape_changes_nothing_in_a_file() -> None:
    text = "".join(COMMON) + (
        "# a comment \\\n"
        "host all all 10.0.0.0/8 md5 \\\n"
        "  # continued\n"
        "local all u peer map=m\\\r\n"
        " x  # note\r\n"
        "host all all 10.0.0.0/8 md5  # last \\"
    )
    for version in (13, 15, 16, 18):
        assert _outcome(text, version, shapes=True) == _outcome(text, version, shapes=False)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=7),
            st.sampled_from(["\n", "\r\n", "\\\n", "\\\r\n"]),
        ),
        max_size=6,
    ),
    st.sampled_from([13, 15, 16, 18]),
)
def test_random_files(lines: list[tuple[list[tuple[str, str]], str]], version: int) -> None:
    text = "".join("".join(w + s for w, s in parts) + end for parts, end in lines)
    assert _outcome(text, version, shapes=True) == _outcome(text, version, shapes=False)


def test_errors_after_shape_lines_name_their_line() -> None:
    text = "host all all 10.0.0.0/8 md5\n# c\nlocal all all peer map=m\nhost all all 10.0.0.1 md5\n"
    with pytest.raises(hba.HBAError) as info:
        hba.read_config(text)
    assert info.value.lineno == 4
    assert info.value.reason == 'invalid IP mask "md5": Name or service not known'


def test_entries_of_shape_lines_are_made_when_first_used() -> None:
    seq = hba.read_config("local all all peer map=m  # note\r\n")
    rec = seq._rec(0)
    assert rec._entry is None and rec._comment is None
    assert rec.comment == "# note"
    assert seq[0].options == {"map": "m"}
    assert seq.text() == "local all all peer map=m  # note\r\n"


TYPES = ["local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc", '"host"', "host,"]
NAMES = ["all", '"all"', "db", "+g", "@f", "/^a", '"/^a"', "a,b", "a, b", '"a b",c', "hôte", '""']
ADDRESSES = [
    "",
    "all",
    "samehost",
    "10.0.0.0/8",
    "10.0.0.0/33",
    "10.0.0.1 255.0.0.0",
    "10.0.0.1 ffff::",
    "10.0.0.1",
    "::1/128",
    "::1 ffff::",
    "fe80::1%lo/64",
    "1:2/64",
    "h.example.com",
    "h/24",
]
METHODS = ["trust", "md5", "peer", "ident", "gss", "sspi", "cert", "ldap", "pam", "md5,"]
OPTIONS = [
    "map=m",
    "clientcert=verify-full",
    "clientcert=verify-ca",
    "clientname=DN",
    "include_realm=0",
    "upn_username=1",
    "map=a,clientname=CN",
    'map="a b"',
    "x",
]
BLANKS = [" ", "\t", "  ", " ,", "\r"]


def _record(fields: tuple[str, str, str, str, str, list[str], str], blanks: list[str]) -> str:
    kind, db, user, address, method, options, note = fields
    words = [kind, db, user, *([address] if address else []), method, *options, note]
    return "".join(w + b for w, b in zip(words, blanks, strict=False))


#: Records built field by field, most of them valid.
RECORDS = st.builds(
    _record,
    st.tuples(
        st.sampled_from(TYPES),
        st.sampled_from(NAMES),
        st.sampled_from(NAMES),
        st.sampled_from(ADDRESSES),
        st.sampled_from(METHODS),
        st.lists(st.sampled_from(OPTIONS), max_size=2),
        st.sampled_from(["", "# c", "#"]),
    ),
    st.lists(st.sampled_from(BLANKS), min_size=8, max_size=8),
)


@settings(max_examples=3000, deadline=None)
@given(RECORDS, st.sampled_from(ENDS), st.sampled_from([15, 16, 18]))
def test_random_records(line: str, end: str, version: int) -> None:
    compare(line + end, version)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(RECORDS, RECORDS, st.sampled_from(["", "# x", " \\", "x"])),
            st.sampled_from(["\n", "\r\n", "\\\n", "\\\r\n", "\r"]),
        ),
        max_size=8,
    ),
    st.sampled_from([13, 15, 16, 18]),
)
def test_random_files_of_records(lines: list[tuple[str, str]], version: int) -> None:
    text = "".join(line + end for line, end in lines)
    assert _outcome(text, version, shapes=True) == _outcome(text, version, shapes=False)
