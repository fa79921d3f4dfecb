"""boss.hba against PostgreSQL itself: the ``pg_hba_file_rules`` view is the oracle.

Each case becomes the server's pg_hba.conf, after a first line ``local all all trust`` (so
psql can still connect); the view re-reads the file on every query, so nothing is reloaded
and a broken case cannot break the server. Our reading uses the server's major version.

- The server rejects a record (a row without ``type``): ``read_config`` raises
  ``HBAError`` at the first such line, with the server's message (a few messages carry a
  library's text after ours, and the server leaves some empty). And vice versa.
- Every record accepted: the same line numbers, types, names (``@file`` expanded by the
  test), address and netmask as the server normalizes them, method (``ident`` on ``local``
  runs as ``peer``) and options (the view also lists options implied by others).
- A record the server's build cannot handle (``not supported by this build``) decides
  nothing; a case made only of such records is skipped with that reason.

Column notes: PostgreSQL 16 added ``rule_number`` and ``file_name`` (not used here);
``database``, ``user_name`` and ``options`` are text arrays, read as JSON.
"""

# ruff: noqa: E501  (case tables keep one case per line)
from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_boss.boss._atomic import atomic_write_text
from pytest_boss.boss.hba import ADDRESS_KEYWORDS, KEYWORDS, Entry, HBAError, Name, read_config

HEAD = "local all all trust\n"
QUERY = (
    "SELECT line_number, type, array_to_json(database), array_to_json(user_name), address,"
    " netmask, auth_method, array_to_json(options), error FROM pg_hba_file_rules"
    " WHERE line_number > 1 ORDER BY line_number"
)
#: Errors the view shows on records the server still uses (settings or build, not syntax).
WARNINGS = (
    "hostssl record cannot match because SSL is disabled",
    "hostssl record cannot match because SSL is not supported by this build",
    "hostgssenc record cannot match because GSSAPI is not supported by this build",
)
#: Messages to which the server appends a library's text (``: <ldap_err2string>``).
PREFIX_MESSAGES = ("could not parse LDAP URL",)
#: Options the view lists although the record did not write them.
IMPLIED_OPTIONS = {
    "include_realm",
    "clientcert",
    "ldapscope",
    "ldapport",
    "ldapscheme",
    "ldapserver",
    "ldapbasedn",
    "ldapsearchattribute",
    "ldapsearchfilter",
    "validator",
}
#: Options the view does not list as written (booleans, or decomposed).
UNLISTED_OPTIONS = {
    "ldapurl",
    "pam_use_hostname",
    "compat_realm",
    "upn_username",
    "include_realm",
    "delegate_ident_mapping",
    "clientname",
}


@dataclass(frozen=True)
class Row:
    line: int
    type: str | None
    databases: list[str] | None
    users: list[str] | None
    address: str | None
    netmask: str | None
    method: str | None
    options: dict[str, str]
    error: str | None


@dataclass(frozen=True)
class Case:
    text: str
    files: dict[str, str] = field(default_factory=dict)


class Oracle:
    """A running server whose pg_hba.conf each case replaces."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.major = int(cluster.version[0])
        self.data_dir = os.path.abspath(cluster.data_dir)
        st = os.stat(self.data_dir)
        self.owner = (st.st_uid, st.st_gid)
        self.extra: list[str] = []

    def write(self, case: Case) -> str:
        for name in self.extra:
            os.unlink(name)
        self.extra = []
        for name, text in case.files.items():
            path = os.path.join(self.data_dir, name)
            with open(path, "w", encoding="utf-8", newline="") as fo:
                fo.write(text)
            os.chmod(path, 0o644)
            if os.geteuid() == 0:
                os.chown(path, *self.owner)
            self.extra.append(path)
        text = HEAD + case.text
        atomic_write_text(self.cluster.hba_path, text, newline="")
        return text

    def rows(self) -> list[Row]:
        out = []
        for line, kind, dbs, users, address, netmask, method, options, error in self.cluster.sql(
            QUERY
        ):
            assert line is not None
            opts: dict[str, str] = {}
            for item in json.loads(options) if options else []:
                name, _, value = item.partition("=")
                opts[name] = value
            out.append(
                Row(
                    int(line),
                    kind,
                    json.loads(dbs) if dbs else None,
                    json.loads(users) if users else None,
                    address,
                    netmask,
                    method,
                    opts,
                    error or None,
                )
            )
        return out


@pytest.fixture(scope="session")
def oracle(make_cluster: Callable[..., Any]) -> Iterator[Oracle]:
    cluster = make_cluster()
    cluster.start()
    if int(cluster.version[0]) >= 18:
        # oauth records need a validator library named in the settings (never loaded here)
        cluster.sql("ALTER SYSTEM SET oauth_validator_libraries = 'dummy'")
        cluster.reload()
    oracle = Oracle(cluster)
    yield oracle
    atomic_write_text(cluster.hba_path, HEAD, newline="")


# -- cases ---------------------------------------------------------------------------------

CASES: list[tuple[str, Case]] = [
    # tokenizer: blanks, quotes, comments
    ("plain", Case("local all all trust\n")),
    ("tabs-and-cr", Case("local\tall\rall\t trust\n")),
    ("crlf", Case("local all all trust\r\nhost all all ::1/128 md5\r\n")),
    ("comment-lines", Case("# c\n   # c\n\nlocal all all md5 # trailing\n")),
    ("comment-glued", Case("local all all md5#x\n")),
    ("quoted-blank", Case('local "my db" "a user" md5\n')),
    ("quoted-comma-hash", Case('local "a,b" "c#d" md5\n')),
    ("doubled-quote", Case('local "a""b" """" md5\n')),
    ("empty-quoted", Case('local "" "" md5\n')),
    ("quote-mid-token", Case('local a"b c"d x md5\n')),
    ("unterminated-quote", Case('local "abc all md5\n')),
    ("backslash-inside", Case("local a\\b c\\ md5\n")),
    ("non-ascii", Case('local "db ü" ☃ md5\n')),
    ("no-final-newline", Case("local all all md5")),
    # comma lists
    ("list", Case("local a,b,c x,y md5\n")),
    ("list-blank-after-comma", Case("local a, b, c x md5\n")),
    ("list-double-comma", Case("local a,,b x md5\n")),
    ("list-leading-comma", Case("local ,a x md5\n")),
    ("list-blank-before-comma", Case("local a ,b x md5\n")),
    ("list-quoted-items", Case('local "a b", "c,d" x md5\n')),
    ("list-trailing-comma", Case("local a, x md5\n")),
    # keywords and their quoting
    ("keywords", Case("local sameuser,samerole,samegroup,replication all md5\n")),
    ("quoted-keywords", Case('local "all","sameuser","replication" "all" md5\n')),
    ("late-quote-keyword", Case('local al"l" all md5\n')),
    ("group", Case('local all +admins,"+literal" md5\n')),
    ("file-names", Case("local @dbs.txt @users.txt md5\n", {"dbs.txt": "d1, d2\n# c\nd3\n", "users.txt": "u1\n"})),
    ("file-quoted-path", Case('local @"dbs.txt" all md5\n', {"dbs.txt": "d1\n"})),
    ("quoted-at-is-name", Case('local "@dbs.txt" all md5\n')),
    ("lone-at", Case("local @ all md5\n")),
    ("regex-names", Case("local /^d.*$ /^u[0-9]+$ md5\n")),
    ("regex-invalid", Case('local "/(" all md5\n')),
    ("regex-invalid-user", Case("local all /[ md5\n")),
    ("regex-quantifier", Case("local all /*a md5\n")),
    ("regex-escape", Case("local all /\\q md5\n")),
    ("regex-bound", Case("local all /a{3,2} md5\n")),
    # continuation
    ("continuation", Case("local all all \\\nmd5\n")),
    ("continuation-mid-word", Case("local all all tr\\\nust\n")),
    ("continuation-crlf", Case("local all all \\\r\nmd5\r\n")),
    ("continuation-in-quotes", Case('local "a \\\nb" all md5\n')),
    ("continuation-in-comment", Case("# c \\\nlocal all all bogus\nlocal all all md5\n")),
    ("continuation-double-backslash", Case("local all all md5\\\\\n\nlocal all all trust\n")),
    ("continuation-backslash-blank", Case("local all all md5\\ \n")),
    ("continuation-chain", Case("local all all trust\\\n   \\\n\\\n\nlocal all all md5\n")),
    ("continuation-at-eof", Case("local all all md5\\")),
    ("continuation-error-line", Case("local all all md5\nlocal a \\\nb \\\nbogus\n")),
    # addresses
    ("cidr4", Case("host all all 10.1.2.3/8 md5\n")),
    ("cidr6", Case("host all all fe80::1/64 md5\n")),
    ("netmask4", Case("host all all 10.0.0.0 255.0.0.0 md5\n")),
    ("netmask6", Case("host all all ::1 ffff:ffff:: md5\n")),
    ("odd-netmask", Case("host all all 10.0.0.1 255.0.255.0 md5\n")),
    ("cidr-leading-zero-plus", Case("host all all 10.0.0.1/08 md5\nhost all all 10.0.0.1/+8 md5\n")),
    ("inet-aton-forms", Case("host all all 127.1/32 md5\nhost all all 010.0.0.1/32 md5\nhost all all 0x7f.1 255.255.255.255 md5\n")),
    ("v4-mapped", Case("host all all ::ffff:1.2.3.4/128 md5\n")),
    ("zero-prefix", Case("host all all 0/0 md5\nhost all all ::/0 md5\n")),
    ("quoted-cidr", Case('host all all "127.0.0.1/32" md5\n')),
    ("hostnames", Case("host all all example.com md5\nhost all all .example.com md5\nhost all all foo!bar md5\nhost all all 1.2.3.4.5 md5\n")),
    ("address-keywords", Case("host all all all md5\nhost all all samehost md5\nhost all all samenet md5\n")),
    ("quoted-address-keyword", Case('host all all "samehost" md5\n')),
    ("empty-address", Case('host all all "" md5\n')),
    ("cidr-too-long", Case("host all all 10.0.0.1/33 md5\n")),
    ("cidr6-too-long", Case("host all all ::1/129 md5\n")),
    ("cidr-empty", Case("host all all 10.0.0.1/ md5\n")),
    ("cidr-negative", Case("host all all 10.0.0.1/-1 md5\n")),
    ("cidr-junk", Case("host all all 10.0.0.1/8x md5\n")),
    ("hostname-with-cidr", Case("host all all example.com/24 md5\n")),
    ("bad-ip-with-cidr", Case("host all all 300.1.1.1/32 md5\n")),
    ("two-addresses", Case("host all all 10.0.0.1,10.0.0.2/32 md5\n")),
    ("no-netmask", Case("host all all 10.0.0.1\n")),
    ("bad-netmask", Case("host all all 10.0.0.1 md5\n")),
    ("netmask-with-cidr", Case("host all all 10.0.0.1 255.0.0.0/8 md5\n")),
    ("netmask-family", Case("host all all 10.0.0.1 ::1 md5\n")),
    ("two-netmasks", Case("host all all 10.0.0.1 255.0.0.0,255.0.0.0 md5\n")),
    ("no-address", Case("host all all\n")),
    # types and methods
    ("all-types", Case("host all all ::1/128 md5\nhostssl all all ::1/128 md5\nhostnossl all all ::1/128 md5\nhostgssenc all all ::1/128 md5\nhostnogssenc all all ::1/128 md5\n")),
    ("type-case", Case("Host all all ::1/128 md5\n")),
    ("type-unknown", Case("hosts all all ::1/128 md5\n")),
    ("type-list", Case("host,local all all ::1/128 md5\n")),
    ("type-quoted", Case('"local" all all "trust"\n')),
    ("type-empty", Case('"" all all md5\n')),
    ("type-only", Case("local\n")),
    ("no-user", Case("local all\n")),
    ("no-method", Case("local all all\n")),
    ("methods", Case("local all all trust\nlocal all all reject\nlocal all all scram-sha-256\nlocal all all md5\nlocal all all password\nlocal all all peer\n")),
    ("method-case", Case("local all all MD5\n")),
    ("method-unknown", Case("local all all kerberos\n")),
    ("method-list", Case("local all all md5,trust\n")),
    ("method-empty", Case('local all all ""\n')),
    ("ident-on-local", Case("local all all ident map=m\n")),
    ("ident-on-host", Case("host all all ::1/128 ident map=m\n")),
    ("peer-on-host", Case("host all all ::1/128 peer\n")),
    ("gss-on-local", Case("local all all gss\n")),
    ("gss", Case("host all all ::1/128 gss include_realm=0 krb_realm=R map=m\n")),
    ("cert-on-host", Case("host all all ::1/128 cert\n")),
    ("cert-on-local", Case("local all all cert\n")),
    ("cert-on-hostssl", Case("hostssl all all ::1/128 cert map=m\n")),
    ("sspi", Case("host all all ::1/128 sspi\n")),
    ("bsd", Case("local all all bsd\n")),
    ("pam", Case("local all all pam pamservice=x pam_use_hostname=1\n")),
    ("oauth", Case("local all all oauth scope=s issuer=https://i\n")),
    ("oauth-no-scope", Case("local all all oauth issuer=https://i\n")),
    ("oauth-no-issuer", Case("local all all oauth scope=s\n")),
    # options
    ("option-equals-in-value", Case("local all all peer map=a=b\n")),
    ("option-list-last-wins", Case("local all all peer map=a,map=b\n")),
    ("option-quoted", Case('local all all peer "map=a b"\n')),
    ("option-quoted-value", Case('local all all peer map="a b"\n')),
    ("option-empty-value", Case("local all all peer map=\n")),
    ("option-no-equals", Case("local all all trust foo\n")),
    ("option-empty", Case('local all all trust ""\n')),
    ("option-unknown", Case("local all all trust foo=bar\n")),
    ("option-empty-name", Case("local all all trust =bar\n")),
    ("map-on-md5", Case("local all all md5 map=x\n")),
    ("krb-realm-on-peer", Case("local all all peer krb_realm=x\n")),
    ("include-realm-on-peer", Case("local all all peer include_realm=1\n")),
    ("compat-realm-on-peer", Case("local all all peer compat_realm=1\n")),
    ("upn-on-peer", Case("local all all peer upn_username=1\n")),
    ("pamservice-on-peer", Case("local all all peer pamservice=x\n")),
    ("scope-on-peer", Case("local all all peer scope=x\n")),
    ("clientcert-verify-ca", Case("hostssl all all ::1/128 md5 clientcert=verify-ca\n")),
    ("clientcert-verify-full", Case("hostssl all all ::1/128 md5 clientcert=verify-full\n")),
    ("clientcert-on-host", Case("host all all ::1/128 md5 clientcert=verify-ca\n")),
    ("clientcert-old-value", Case("hostssl all all ::1/128 md5 clientcert=1\n")),
    ("clientcert-cert-verify-ca", Case("hostssl all all ::1/128 cert clientcert=verify-ca\n")),
    ("clientname", Case("hostssl all all ::1/128 md5 clientname=CN\n")),
    ("clientname-case", Case("hostssl all all ::1/128 md5 clientname=cn\n")),
    ("clientname-on-host", Case("host all all ::1/128 md5 clientname=DN\n")),
    ("ldap-search", Case("host all all ::1/128 ldap ldapserver=h ldapbasedn=dc=x ldapbinddn=a ldapbindpasswd=b ldapsearchattribute=uid\n")),
    ("ldap-bind", Case("host all all ::1/128 ldap ldapprefix=cn= ldapsuffix=x ldaptls=1 ldapport=12x ldapscheme=ldaps\n")),
    ("ldap-no-base", Case("host all all ::1/128 ldap ldapserver=h\n")),
    ("ldap-prefix-and-base", Case("host all all ::1/128 ldap ldapprefix=cn= ldapbasedn=dc=x\n")),
    ("ldap-attribute-and-filter", Case("host all all ::1/128 ldap ldapbasedn=dc=x ldapsearchattribute=uid ldapsearchfilter=(uid=x)\n")),
    ("ldap-port-zero", Case("host all all ::1/128 ldap ldapbasedn=dc=x ldapport=0\n")),
    ("ldap-scheme", Case("host all all ::1/128 ldap ldapbasedn=dc=x ldapscheme=ldapi\n")),
    ("ldap-comma-splits-option", Case("host all all ::1/128 ldap ldapprefix=cn= ldapsuffix=,dc=x\n")),
    ("ldapurl", Case("host all all ::1/128 ldap ldapurl=ldap://h:99/dc=%41??one\n")),
    ("ldapurl-empty-dn", Case("host all all ::1/128 ldap ldapurl=ldap://h/\n")),
    ("ldapurl-no-dn", Case("host all all ::1/128 ldap ldapurl=ldap://h\n")),
    ("ldapurl-scheme", Case("host all all ::1/128 ldap ldapurl=ldapi://h/dc=x\n")),
    ("ldapurl-garbage", Case("host all all ::1/128 ldap ldapurl=foo\n")),
    ("ldapurl-scope", Case("host all all ::1/128 ldap ldapurl=ldap://h/dc=x??bogus\n")),
    ("ldapurl-port", Case("host all all ::1/128 ldap ldapurl=ldap://h:abc/dc=x\n")),
    ("ldapurl-too-many-parts", Case("host all all ::1/128 ldap ldapurl=ldap://h/dc=x?a?sub?(x=y)?e?f\n")),
    ("ldapurl-with-prefix", Case("host all all ::1/128 ldap ldapurl=ldaps://h/dc=x ldapprefix=a\n")),
    ("radius", Case('host all all ::1/128 radius radiusservers="127.0.0.1, 127.0.0.2" radiussecrets=s radiusports=1812 radiusidentifiers="a,b"\n')),
    ("radius-no-servers", Case("host all all ::1/128 radius radiussecrets=s\n")),
    ("radius-no-secrets", Case("host all all ::1/128 radius radiusservers=127.0.0.1\n")),
    ("radius-empty-secrets", Case('host all all ::1/128 radius radiusservers=127.0.0.1 radiussecrets=""\n')),
    ("radius-blank-servers", Case('host all all ::1/128 radius radiusservers=" " radiussecrets=s\n')),
    ("radius-secret-count", Case('host all all ::1/128 radius radiusservers="127.0.0.1,127.0.0.2" radiussecrets="a,b,c"\n')),
    ("radius-port", Case('host all all ::1/128 radius radiusservers=127.0.0.1 radiussecrets=s radiusports="1,x"\n')),
    ("radius-list-syntax", Case('host all all ::1/128 radius radiusservers="127.0.0.1,,127.0.0.2" radiussecrets=s\n')),
    ("radius-on-peer", Case("local all all peer radiusservers=x\n")),
    # include directives (16+; errors before)
    ("include-if-exists-missing", Case("include_if_exists missing.conf\nlocal all all md5\n")),
    ("include-one-field", Case("include\n")),
    ("include-three-fields", Case("include a b\n")),
    # several errors: the first one counts
    ("two-errors", Case("local all all md5\nlocal all all bogus\nhost all all ::1/128 peer\n")),
    ("token-too-long", Case("local " + "x" * 10240 + " all md5\n")),
    ("token-longest", Case("local " + "x" * 10239 + " all md5\n")),
    ("radius-port-list-syntax", Case('host all all ::1/128 radius radiusservers=127.0.0.1 radiussecrets=s radiusports="1,,2"\n')),
]  # fmt: skip


def _expand(names: list[Any], case: Case) -> list[str]:
    """Names as the server lists them: ``@file`` (unquoted) replaced by the file's names."""
    out: list[str] = []
    for name in names:
        if not name.quoted and len(name) > 1 and name.startswith("@"):
            text = case.files[str(name)[1:]]
            for line in text.splitlines():
                line = line.split("#", 1)[0]
                out.extend(n for n in line.replace(",", " ").split() if n)
        else:
            out.append(str(name))
    return out


def _numeric(text: str) -> tuple[int, bytes] | None:
    """The test's own reading of a numeric address (what the server's getaddrinfo does)."""
    try:
        info = socket.getaddrinfo(text, None, socket.AF_UNSPEC, 0, 0, socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    family, sockaddr = info[0][0], info[0][4]
    return family, socket.inet_pton(family, str(sockaddr[0]).split("%")[0])


def _expected_address(entry: Entry) -> tuple[str | None, str | None]:
    """(address, netmask) as the view shows them."""
    if entry.address is None:
        return None, None
    if not entry.address.quoted and entry.address in ADDRESS_KEYWORDS:
        return str(entry.address), None
    text, slash, bits = str(entry.address).partition("/")
    parsed = _numeric(text)
    if parsed is None:
        return str(entry.address), None
    family, packed = parsed
    address = socket.inet_ntop(family, packed)
    if slash:
        width = len(packed) * 8
        n = int(bits)
        mask = ((1 << width) - 1) ^ ((1 << (width - n)) - 1)
        return address, socket.inet_ntop(family, mask.to_bytes(len(packed), "big"))
    assert entry.netmask is not None
    mask_parsed = _numeric(entry.netmask)
    assert mask_parsed is not None
    return address, socket.inet_ntop(*mask_parsed)


def _expected_options(entry: Entry) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in entry.options.items():
        if name == "ldaptls":
            if value == "1":
                out[name] = "true"
        elif name == "ldapport":
            out[name] = str(int("".join(c for c in value if c.isdigit()) or 0))
        elif name not in UNLISTED_OPTIONS:
            out[name] = value
    return out


def _same_reason(ours: str, server: str | None) -> bool:
    if server is None or server in WARNINGS:
        return True  # the server logged why but left the column empty (or stale)
    if ours == server:
        return True
    return any(ours.startswith(p) and server.startswith(ours + ": ") for p in PREFIX_MESSAGES)


def _build_dependent(row: Row) -> bool:
    error = row.error or ""
    return (
        row.type is None
        and error.startswith("invalid authentication method")
        and error.endswith("not supported by this build")
    )


def compare(oracle: Oracle, case: Case) -> str | None:
    """Assert that we read ``case`` as the server does; or say why this server cannot tell."""
    text = oracle.write(case)
    rows = oracle.rows()
    rejected = [r for r in rows if r.type is None and not _build_dependent(r)]
    unknown = {r.line for r in rows if _build_dependent(r)}
    try:
        seq = read_config(text, version=oracle.major)
    except HBAError as exc:
        if exc.lineno in unknown:
            return f"line {exc.lineno}: {rows_error(rows, exc.lineno)}"
        assert rejected, f"the server accepts what we reject: {exc}"
        first = rejected[0]
        if (first.error or "").startswith("could not open"):
            return f"the server wants a file we do not follow: {first.error}"
        if any(r.line in unknown for r in rows if r.line < first.line):
            return "an earlier record is not supported by this build"
        assert exc.lineno == first.line, f"we stop at {exc.lineno}, the server at {first}"
        assert _same_reason(exc.reason, first.error), (exc.reason, first.error)
        return None
    if rejected and (rejected[0].error or "").startswith("could not open"):
        return f"the server wants a file we do not follow: {rejected[0].error}"
    assert not rejected, f"the server rejects what we accept: {rejected}"
    ours = [(n, e) for n, e in seq.numbered() if n > 1 and not e.is_include]
    assert [n for n, _ in ours] == [r.line for r in rows], rows
    compared = 0
    for (line, entry), row in zip(ours, rows, strict=False):
        if line in unknown:
            continue
        compared += 1
        method = "peer" if (entry.type, entry.method) == ("local", "ident") else entry.method
        assert (row.type, row.method) == (entry.type, method)
        assert row.databases == _expand(entry.databases, case)
        assert row.users == _expand(entry.users, case)
        assert (row.address, row.netmask) == _expected_address(entry)
        expected = _expected_options(entry)
        assert expected.items() <= row.options.items(), (expected, row.options)
        assert set(row.options) - set(expected) <= IMPLIED_OPTIONS, row.options
        assert row.error is None or row.error in WARNINGS, row.error
    if ours and not compared:
        return f"not supported by this build: {rows[0].error}"
    return None


def rows_error(rows: list[Row], line: int | None) -> str | None:
    return next((r.error for r in rows if r.line == line), None)


@pytest.mark.parametrize("case", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_oracle(oracle: Oracle, case: Case) -> None:
    why = compare(oracle, case)
    if why is not None:
        pytest.skip(why)


# -- property: random records made of the pieces that matter ---------------------------------

PIECES = [
    "local", "host", "hostssl", "hostnossl", "Host", "include_if_exists",
    "all", "sameuser", "replication", "+g", "@", "db", "u", "x y", "/^a", "/(",
    '"', '""', ",", ", ", " ,", " ", "\t", "#", "\\\n", "\\", "\r",
    "10.0.0.1", "/8", "/33", "::1", "255.0.0.0", "samehost", "example.com",
    "trust", "md5", "peer", "ident", "reject", "cert", "map=m", "map=", "=x", "clientcert=verify-ca", "foo",
    "hostgssenc", "include", "gss", "radius", "ldap", "pam", "oauth", "scram-sha-256", "password",
    "radiusservers=127.0.0.1", "radiussecrets=a,b", 'radiusports="1,2"', "ldapbasedn=x", "ldapprefix=p",
    "ldapurl=ldap://h/x", "ldapsearchfilter=f", "ldapsearchattribute=a", "ldapport=0", "include_realm=1",
    "krb_realm=R", "clientname=CN", "pamservice=s", "scope=s", "issuer=i", "ffff::", "::ffff:1.2.3.4",
    "127.1", "0", "/0", "/128", '"all"', "samerole", "samenet", "=", "a=b=c", " \\\n ",
]  # fmt: skip
_record = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)


@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(records=st.lists(_record, min_size=1, max_size=3))
def test_random_records(oracle: Oracle, records: list[str]) -> None:
    compare(oracle, Case("\n".join(records) + "\n"))


def test_initdb_file_round_trip(oracle: Oracle, make_cluster: Callable[..., Any]) -> None:
    """The pg_hba.conf initdb writes reads back untouched, and an edit changes one line."""
    fresh = make_cluster()
    with open(fresh.hba_path, encoding="utf-8", newline="") as fo:
        original = fo.read()
    seq = read_config(original, version=oracle.major)
    assert len(seq) >= 3
    assert seq.text() == original
    seq[seq.index("host all all 127.0.0.1/32")].method = "password"
    seq.insert_after("host all all 127.0.0.1/32", "host all all 10.0.0.0/8 reject")
    before = original.splitlines(keepends=True)
    after = seq.text().splitlines(keepends=True)
    assert len(after) == len(before) + 1
    changed = [line for line in after if line not in before]
    assert len(changed) == 2
    assert changed[0].split() == ["host", "all", "all", "127.0.0.1/32", "password"]
    assert changed[1].split() == ["host", "all", "all", "10.0.0.0/8", "reject"]
    # the edited file is what the server reads
    oracle.write(Case(seq.text()))
    rows = oracle.rows()
    assert [r.error for r in rows] == [None] * len(rows)
    assert any(r.method == "reject" and r.address == "10.0.0.0" for r in rows)


# -- property: any names and option value, written by Entry, read by the server as by us -----

SPECIAL = ' \t\r,"#\\+@/=éall'
_chars = st.characters(blacklist_characters="\0\n", codec="utf-8")
_text = st.one_of(
    st.text(alphabet=_chars),
    st.text(alphabet=SPECIAL),
    st.text(alphabet=st.sampled_from(SPECIAL) | _chars),
)
_name = st.builds(Name, st.one_of(_text, st.sampled_from(KEYWORDS)), st.booleans()).filter(
    lambda n: not n.startswith("/") and not (n.special and n.startswith("@"))
)


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    databases=st.lists(_name, min_size=1, max_size=3),
    users=st.lists(_name, min_size=1, max_size=3),
    value=_text,
)
def test_any_names_read_as_the_server_does(
    oracle: Oracle, databases: list[Name], users: list[Name], value: str
) -> None:
    entry = Entry("local", databases, users, method="peer", options={"map": value})
    text = oracle.write(Case(str(entry) + "\n"))
    assert read_config(text, version=oracle.major)[1] == entry
    rows = oracle.rows()
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row.type, row.method, row.error) == ("local", "peer", None)
    assert row.databases == [str(d) for d in databases]
    assert row.users == [str(u) for u in users]
    assert row.options == {"map": value}
