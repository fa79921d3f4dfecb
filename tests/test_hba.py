"""Unit tests of boss.hba: PostgreSQL's pg_hba.conf rules, one table per rule.

Expected values are written from the server's behaviour (hba.c, and what
``pg_hba_file_rules`` showed for the same lines on PostgreSQL 15 and 18);
tests/test_hba_oracle.py checks the same kinds of input against a running server.
"""

# ruff: noqa: E501  (case tables keep one case per line, with the server's full message)
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_boss.boss import hba
from pytest_boss.boss._hba_regex import regex_error
from pytest_boss.boss._hba_values import parse_ldap_url, split_guc_list
from pytest_boss.boss.hba import (
    Entry,
    HBAError,
    Name,
    Sequence,
    parse_line,
    read_config,
    read_file,
)

pytestmark = pytest.mark.unit


def names(values: list[Name]) -> list[tuple[str, bool]]:
    return [(str(v), v.quoted) for v in values]


# -- parse_line: raw fields as written -------------------------------------------------------

PARSE_LINE = [
    ("", None, "empty"),
    ("   \t ", None, "blanks"),
    ("# comment", None, "comment"),
    ("   # indented comment", None, "indented-comment"),
    ("local all all trust", ["local", "all", "all", "trust"], "plain"),
    ("local\tall\tall\ttrust", ["local", "all", "all", "trust"], "tabs"),
    ("local\rall\rall\rtrust", ["local", "all", "all", "trust"], "lone-cr-is-blank"),
    ("local all all trust\r\n", ["local", "all", "all", "trust"], "crlf-end"),
    ("local all all trust # x", ["local", "all", "all", "trust"], "trailing-comment"),
    ("local all all trust#x", ["local", "all", "all", "trust"], "comment-glued"),
    ('local "a b" all trust', ["local", '"a b"', "all", "trust"], "quoted-blank"),
    ('local "a#b" all trust', ["local", '"a#b"', "all", "trust"], "quoted-hash"),
    ('local "a,b" all trust', ["local", '"a,b"', "all", "trust"], "quoted-comma"),
    ("local a,b all trust", ["local", "a,b", "all", "trust"], "comma-list"),
    ("local a, b all trust", ["local", "a, b", "all", "trust"], "comma-blank-list"),
    ("local a ,b all trust", ["local", "a", "b", "all", "trust"], "blank-comma-two-fields"),
    ('local "a", "b" c d', ["local", '"a", "b"', "c", "d"], "quoted-list-with-blank"),
    ("local ,a all trust", ["local", "a", "all", "trust"], "leading-comma-skipped"),
]


@pytest.mark.parametrize(
    ("line", "expected"), [c[:2] for c in PARSE_LINE], ids=[c[2] for c in PARSE_LINE]
)
def test_parse_line(line: str, expected: list[str] | None) -> None:
    assert parse_line(line) == expected


def test_parse_line_custom_separator_and_comment() -> None:
    assert parse_line("local;all;all;trust", separator=";") == ["local", "all", "all", "trust"]
    assert parse_line("local all all trust % c", comment="%") == ["local", "all", "all", "trust"]
    assert parse_line("local all all trust # c", comment="%") == [
        "local", "all", "all", "trust", "#", "c",
    ]  # fmt: skip


# -- tokens: values and quoting --------------------------------------------------------------

TOKENS = [
    ('local "a b" all trust', [("a b", True)], "blank-inside-quotes"),
    ('local "a""b" all trust', [('a"b', True)], "doubled-quote-is-quote"),
    ('local """" all trust', [('"', True)], "only-a-quote"),
    ('local "" all trust', [("", True)], "empty-quoted"),
    ('local a"b c"d all trust', [("ab cd", False)], "quote-mid-token-not-initial"),
    ('local al"l" all trust', [("all", False)], "late-quote-keeps-keyword"),
    ('local ""all all trust', [("all", True)], "empty-quotes-first-is-quoted"),
    ('local "all" all trust', [("all", True)], "quoted-keyword"),
    ("local a,b,c all trust", [("a", False), ("b", False), ("c", False)], "list"),
    ("local a,,b all trust", [("a", False), ("b", False)], "double-comma-skipped"),
    ("local a, b all trust", [("a", False), ("b", False)], "blank-after-comma"),
    ('local "a,b",c all trust', [("a,b", True), ("c", False)], "comma-in-quotes"),
    ('local "a#b" all trust', [("a#b", True)], "hash-in-quotes"),
    ("local @ all trust", [("@", False)], "lone-at-is-a-name"),
    ('local @"my file" all trust', [("@my file", False)], "at-with-quoted-path"),
    ('local "@file" all trust', [("@file", True)], "quoted-at-is-a-name"),
    ("local a\\b all trust", [("a\\b", False)], "backslash-mid-line-is-literal"),
]


@pytest.mark.parametrize(("text", "databases"), [c[:2] for c in TOKENS], ids=[c[2] for c in TOKENS])
def test_tokens(text: str, databases: list[tuple[str, bool]]) -> None:
    assert names(Entry.parse(text).databases) == databases


def test_unterminated_quote_runs_to_end_of_line() -> None:
    with pytest.raises(HBAError) as info:
        read_config('local "abc all trust\n')
    assert info.value.reason == "end-of-line before role specification"


KEYWORD_MEANING = [
    ("all", False, True, "all"),
    ("all", True, False, "quoted-all"),
    ("sameuser", False, True, "sameuser"),
    ("samerole", False, True, "samerole"),
    ("samegroup", False, True, "samegroup"),
    ("replication", False, True, "replication"),
    ("replication", True, False, "quoted-replication"),
    ("+admins", False, True, "group"),
    ("+admins", True, False, "quoted-group"),
    ("@names", False, True, "file"),
    ("@names", True, False, "quoted-file"),
    ("alice", False, False, "plain-name"),
    ("ALL", False, False, "keywords-are-case-sensitive"),
]


@pytest.mark.parametrize(
    ("value", "quoted", "special"),
    [c[:3] for c in KEYWORD_MEANING],
    ids=[c[3] for c in KEYWORD_MEANING],
)
def test_keyword_meaning(value: str, quoted: bool, special: bool) -> None:
    written = f'"{value}"' if quoted else value
    entry = Entry.parse(f"local {written} {written} trust")
    assert entry.databases == [value]
    assert entry.databases[0].quoted is quoted
    assert entry.databases[0].special is special


ADDRESSES = [
    ("host all all 10.0.0.0/8 md5", "10.0.0.0/8", None, "ipv4-cidr"),
    ("host all all 10.0.0.0 255.0.0.0 md5", "10.0.0.0", "255.0.0.0", "ipv4-netmask"),
    ("host all all ::1/128 md5", "::1/128", None, "ipv6-cidr"),
    ("host all all ::1 ffff:ffff:: md5", "::1", "ffff:ffff::", "ipv6-netmask"),
    ("host all all 10.0.0.1/08 md5", "10.0.0.1/08", None, "cidr-leading-zero"),
    ("host all all 10.0.0.1/+8 md5", "10.0.0.1/+8", None, "cidr-plus-sign"),
    ("host all all 0/0 md5", "0/0", None, "ipv4-short-form"),
    ("host all all 127.1 255.255.255.255 md5", "127.1", "255.255.255.255", "inet-aton-form"),
    ("host all all 10.0.0.1 255.0.255.0 md5", "10.0.0.1", "255.0.255.0", "odd-mask-accepted"),
    ("host all all example.com md5", "example.com", None, "hostname"),
    ("host all all .example.com md5", ".example.com", None, "domain-suffix"),
    ("host all all 1.2.3.4.5 md5", "1.2.3.4.5", None, "not-an-ip-is-a-hostname"),
    ("host all all foo!bar md5", "foo!bar", None, "hostnames-are-not-checked"),
    ("host all all all md5", "all", None, "all"),
    ("host all all samehost md5", "samehost", None, "samehost"),
    ("host all all samenet md5", "samenet", None, "samenet"),
    ('host all all "samehost" md5', "samehost", None, "quoted-samehost-is-a-hostname"),
    ('host all all "127.0.0.1/32" md5', "127.0.0.1/32", None, "quoted-cidr"),
]


@pytest.mark.parametrize(
    ("text", "address", "netmask"), [c[:3] for c in ADDRESSES], ids=[c[3] for c in ADDRESSES]
)
def test_addresses(text: str, address: str, netmask: str | None) -> None:
    entry = Entry.parse(text)
    assert (entry.address, entry.netmask, entry.method) == (address, netmask, "md5")


OPTIONS = [
    ("local all all peer map=a=b", {"map": "a=b"}, "split-at-first-equals"),
    ("local all all peer map=a,map=b", {"map": "b"}, "comma-list-of-options-last-wins"),
    ('local all all peer "map=a b"', {"map": "a b"}, "quoted-option"),
    ('local all all peer map="a b"', {"map": "a b"}, "quoted-value"),
    ("local all all peer map=", {"map": ""}, "empty-value"),
    (
        "host all all 1.2.3.4/32 ldap ldapserver=h ldapbasedn=dc=x ldapport=12x ldaptls=1",
        {"ldapserver": "h", "ldapbasedn": "dc=x", "ldapport": "12x", "ldaptls": "1"},
        "ldap-options",
    ),
    (
        'host all all 1.2.3.4/32 radius radiusservers="127.0.0.1,127.0.0.2" radiussecrets=s',
        {"radiusservers": "127.0.0.1,127.0.0.2", "radiussecrets": "s"},
        "radius-lists",
    ),
    ("hostssl all all ::1/128 cert clientname=DN", {"clientname": "DN"}, "clientname"),
]


@pytest.mark.parametrize(("text", "options"), [c[:2] for c in OPTIONS], ids=[c[2] for c in OPTIONS])
def test_options(text: str, options: dict[str, str]) -> None:
    assert Entry.parse(text).options == options


# -- line continuation -----------------------------------------------------------------------

CONTINUATION = [
    ("local all all tru\\\nst\n", [(1, "trust")], "joins-without-blank"),
    ("local all all \\\ntrust\n", [(1, "trust")], "blank-before-backslash"),
    ("local all all tru\\\r\nst\r\n", [(1, "trust")], "crlf"),
    ('local "a \\\nb" all trust\n', [(1, "trust")], "inside-quotes"),
    ("# comment \\\nlocal all all trust\nlocal all all md5\n", [(3, "md5")], "comment-swallows"),
    ("local all all trust # c \\\nlocal a b c\n", [(1, "trust")], "trailing-comment-swallows"),
    ("local all all trust\\ \nlocal all all md5\n", None, "backslash-then-blank-is-not"),
    ("local all all trust\\\\\n\nlocal all all md5\n", None, "double-backslash-keeps-one"),
    ("local all all trust\\\n\\\nmd5\n", None, "backslash-only-line-continues"),
    (
        "local all all trust\\\n   \\\n\\\n\nlocal all all md5\n",
        [(1, "trust"), (5, "md5")],
        "blank-line-ends",
    ),
    ("local all all trust\\", [(1, "trust")], "at-end-of-file"),
]


@pytest.mark.parametrize(
    ("text", "records"), [c[:2] for c in CONTINUATION], ids=[c[2] for c in CONTINUATION]
)
def test_continuation(text: str, records: list[tuple[int, str]] | None) -> None:
    if records is None:
        with pytest.raises(HBAError):
            read_config(text)
        return
    seq = read_config(text)
    assert [(n, e.method) for n, e in seq.numbered()] == records
    assert seq.text() == text


def test_continuation_values() -> None:
    assert Entry.parse('local "a \\\nb" all trust').databases == ["a b"]
    # three backslashes: the last one continues, the two before it stay
    assert Entry.parse("local a\\\\\\\nb all trust").databases == ["a\\\\b"]


def test_no_continuation_before_14() -> None:
    with pytest.raises(HBAError) as info:
        read_config("local all all tru\\\nst\n", version=13)
    assert (info.value.lineno, info.value.reason) == (1, 'invalid authentication method "tru\\"')


# -- errors, with their line numbers ---------------------------------------------------------

ERRORS = [
    ("local", "end-of-line before database specification", "type-only"),
    ("local all", "end-of-line before role specification", "no-user"),
    ("local all all", "end-of-line before authentication method", "no-method"),
    ("host all all", "end-of-line before IP address specification", "no-address"),
    ("host all all 10.0.0.1", "end-of-line before netmask specification", "no-netmask"),
    ("host all all 10.0.0.1 trust", 'invalid IP mask "trust": Name or service not known', "bad-mask"),
    ("host all all 10.0.0.1 255.0.0.0/8 trust", 'invalid IP mask "255.0.0.0/8": Name or service not known', "mask-with-cidr"),
    ("host all all 10.0.0.1 255.255.255.256 trust", 'invalid IP mask "255.255.255.256": Name or service not known', "mask-out-of-range"),
    ("host all all 10.0.0.1 ::1 trust", "IP address and mask do not match", "mask-family"),
    ("host all all 10.0.0.1 255.0.0.0,255.0.0.0 trust", "multiple values specified for netmask", "two-masks"),
    ("host all all 10.0.0.1/33 trust", 'invalid CIDR mask in address "10.0.0.1/33"', "cidr-too-long"),
    ("host all all ::1/129 trust", 'invalid CIDR mask in address "::1/129"', "cidr6-too-long"),
    ("host all all 10.0.0.1/ trust", 'invalid CIDR mask in address "10.0.0.1/"', "cidr-empty"),
    ("host all all 10.0.0.1/-1 trust", 'invalid CIDR mask in address "10.0.0.1/-1"', "cidr-negative"),
    ("host all all 10.0.0.1/8x trust", 'invalid CIDR mask in address "10.0.0.1/8x"', "cidr-junk"),
    ("host all all example.com/24 trust", 'specifying both host name and CIDR mask is invalid: "example.com/24"', "hostname-cidr"),
    ("host all all 300.1.1.1/32 trust", 'specifying both host name and CIDR mask is invalid: "300.1.1.1/32"', "bad-ip-is-hostname"),
    ("host all all 10.0.0.1,10.0.0.2/32 trust", "multiple values specified for host address", "two-addresses"),
    ("Host all all 1.2.3.4/32 trust", 'invalid connection type "Host"', "type-case"),
    ("hosts all all 1.2.3.4/32 trust", 'invalid connection type "hosts"', "type-unknown"),
    ("host,local all all 1.2.3.4/32 trust", "multiple values specified for connection type", "two-types"),
    ('"" all all trust', 'invalid connection type ""', "empty-type"),
    ("local all all Trust", 'invalid authentication method "Trust"', "method-case"),
    ('local all all ""', 'invalid authentication method ""', "empty-method"),
    ("local all all trust,reject", "multiple values specified for authentication type", "two-methods"),
    ("host all all 1.2.3.4/32 peer", "peer authentication is only supported on local sockets", "peer-on-host"),
    ("local all all gss", "gssapi authentication is not supported on local sockets", "gss-on-local"),
    ("local all all cert", "cert authentication is only supported on hostssl connections", "cert-on-local"),
    ("host all all ::1/128 cert", "cert authentication is only supported on hostssl connections", "cert-on-host"),
    ("local all all trust foo", "authentication option not in name=value format: foo", "option-no-equals"),
    ('local all all trust ""', "authentication option not in name=value format: ", "option-empty"),
    ("local all all trust foo=bar", 'unrecognized authentication option name: "foo"', "option-unknown"),
    ("local all all trust =bar", 'unrecognized authentication option name: ""', "option-empty-name"),
    ("local all all md5 map=x", 'authentication option "map" is only valid for authentication methods ident, peer, gssapi, sspi, cert, and oauth', "map-on-md5"),
    ("local all all peer krb_realm=x", 'authentication option "krb_realm" is only valid for authentication methods gssapi and sspi', "krb-realm-on-peer"),
    ("local all all peer include_realm=1", 'authentication option "include_realm" is only valid for authentication methods gssapi and sspi', "include-realm-on-peer"),
    ("host all all ::1/128 gss compat_realm=1", 'authentication option "compat_realm" is only valid for authentication methods sspi', "compat-realm-on-gss"),
    ("local all all peer upn_username=1", 'authentication option "upn_username" is only valid for authentication methods sspi', "upn-on-peer"),
    ("host all all ::1/128 md5 clientcert=verify-ca", 'clientcert can only be configured for "hostssl" rows', "clientcert-on-host"),
    ("hostssl all all ::1/128 md5 clientcert=1", 'invalid value for clientcert: "1"', "clientcert-old-value"),
    ("hostssl all all ::1/128 cert clientcert=verify-ca", 'clientcert can only be set to "verify-full" when using "cert" authentication', "cert-verify-ca"),
    ("host all all ::1/128 md5 clientname=CN", 'clientname can only be configured for "hostssl" rows', "clientname-on-host"),
    ("hostssl all all ::1/128 md5 clientname=cn", 'invalid value for clientname: "cn"', "clientname-case"),
    ("local all all peer pamservice=x", 'authentication option "pamservice" is only valid for authentication methods pam', "pamservice-on-peer"),
    ("host all all ::1/128 ldap", 'authentication method "ldap" requires argument "ldapbasedn", "ldapprefix", or "ldapsuffix" to be set', "ldap-no-base"),
    ("host all all ::1/128 ldap ldapprefix=cn= ldapbasedn=dc=x", "cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter, or ldapurl together with ldapprefix", "ldap-prefix-and-base"),
    ("host all all ::1/128 ldap ldapbasedn=dc=x ldapsearchattribute=uid ldapsearchfilter=(uid=x)", "cannot use ldapsearchattribute together with ldapsearchfilter", "ldap-attribute-and-filter"),
    ("host all all ::1/128 ldap ldapbasedn=dc=x ldapport=0", 'invalid LDAP port number: "0"', "ldap-port-zero"),
    ("host all all ::1/128 ldap ldapprefix=cn= ldapsuffix=,dc=x", 'unrecognized authentication option name: "dc"', "comma-splits-options"),
    ("host all all ::1/128 ldap ldapurl=ldap://h", 'authentication method "ldap" requires argument "ldapbasedn", "ldapprefix", or "ldapsuffix" to be set', "ldapurl-without-dn"),
    ("host all all ::1/128 ldap ldapurl=ldapi://h/dc=x", "unsupported LDAP URL scheme: ldapi", "ldapurl-scheme"),
    ("host all all ::1/128 ldap ldapurl=foo", 'could not parse LDAP URL "foo"', "ldapurl-garbage"),
    ("host all all ::1/128 ldap ldapurl=ldap://h/dc=x??bogus", 'could not parse LDAP URL "ldap://h/dc=x??bogus"', "ldapurl-scope"),
    ("host all all ::1/128 ldap ldapurl=ldap://h/dc=x?uid?sub?(x=y)", "cannot use ldapsearchattribute together with ldapsearchfilter", "ldapurl-attribute-and-filter"),
    ("host all all ::1/128 radius", 'authentication method "radius" requires argument "radiusservers" to be set', "radius-no-servers"),
    ("host all all ::1/128 radius radiusservers=127.0.0.1", 'authentication method "radius" requires argument "radiussecrets" to be set', "radius-no-secrets"),
    ('host all all ::1/128 radius radiusservers=127.0.0.1 radiussecrets=""', 'authentication method "radius" requires argument "radiussecrets" to be set', "radius-empty-secret-is-unset"),
    ('host all all ::1/128 radius radiusservers=" " radiussecrets=s', 'authentication method "radius" requires argument "radiusservers" to be set', "radius-blank-server-is-unset"),
    ('host all all ::1/128 radius radiusservers="127.0.0.1,127.0.0.2" radiussecrets="a,b,c"', "the number of RADIUS secrets (3) must be 1 or the same as the number of RADIUS servers (2)", "radius-secret-count"),
    ('host all all ::1/128 radius radiusservers="a,b" radiussecrets=s radiusidentifiers="a,b,c"', "the number of RADIUS identifiers (3) must be 1 or the same as the number of RADIUS servers (2)", "radius-identifier-count"),
    ('host all all ::1/128 radius radiusservers="a,b" radiussecrets=s radiusports="1,x"', 'invalid RADIUS port number: "1,x"', "radius-port"),
    ('host all all ::1/128 radius radiusservers=a radiussecrets=s radiusports="1,,2"', 'invalid RADIUS port number: "1,,2"', "radius-port-list-syntax"),
    ('host all all ::1/128 radius radiusservers="a,,b" radiussecrets=s', 'could not parse RADIUS server list "a,,b"', "radius-list-syntax"),
    ("local all all oauth", 'authentication method "oauth" requires argument "scope" to be set', "oauth-no-scope"),
    ("local all all oauth scope=x", 'authentication method "oauth" requires argument "issuer" to be set', "oauth-no-issuer"),
    ("local all all peer scope=x", 'authentication option "scope" is only valid for authentication methods oauth', "scope-on-peer"),
    ("local all all oauth scope=x issuer=y map=m delegate_ident_mapping=1", "map cannot be used in combination with delegate_ident_mapping", "oauth-map-and-delegate"),
    ('local "/(" all trust', 'invalid regular expression "(": parentheses () not balanced', "regex-database"),
    ('local all "/[" trust', 'invalid regular expression "[": brackets [] not balanced', "quoted-regex-user"),
    ("include", 'invalid connection type "include"', "include-without-file"),
    ("include a b", 'invalid connection type "include"', "include-three-fields"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "reason"), [c[:2] for c in ERRORS], ids=[c[2] for c in ERRORS])
def test_errors(line: str, reason: str) -> None:
    text = "# first line\nlocal all all trust\n\n" + line + "\nlocal all all trust\n"
    with pytest.raises(HBAError) as info:
        read_config(text)
    assert info.value.reason == reason
    assert info.value.lineno == 4
    assert info.value.line == line
    assert str(info.value).startswith(f"<lines>:4: {reason}")


def test_error_line_number_of_continued_record() -> None:
    with pytest.raises(HBAError) as info:
        read_config("local all all trust\nlocal all \\\nall \\\nbogus\n")
    assert (info.value.lineno, info.value.line) == (2, "local all all bogus")


def test_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pg_hba.conf"
    path.write_text("local all all trust\nlocal all all bogus\n")
    with pytest.raises(HBAError) as info:
        read_file(path)
    assert (info.value.path, info.value.lineno) == (str(path), 2)
    assert str(info.value).startswith(f"{path}:2: invalid authentication method")
    assert "fix the record" in str(info.value)


ACCEPTED = [
    ("local all all ident", "ident-on-local-becomes-peer"),
    ("local all all ident map=x", "ident-map-on-local"),
    ("host all all ::1/128 ident map=x", "ident-on-host"),
    ("hostgssenc all all ::1/128 md5", "hostgssenc-any-method"),
    ("hostnogssenc all all ::1/128 md5", "hostnogssenc"),
    ("hostnossl all all ::1/128 scram-sha-256", "hostnossl"),
    ("hostssl all all ::1/128 md5 clientcert=verify-ca", "clientcert-verify-ca"),
    ("hostssl all all ::1/128 cert clientcert=verify-full map=m", "cert-verify-full"),
    ("hostssl all all ::1/128 cert clientname=CN", "clientname"),
    ("host all all ::1/128 gss include_realm=0 krb_realm=R map=m", "gss-options"),
    ("host all all ::1/128 sspi compat_realm=1 upn_username=1", "sspi-options"),
    ("local all all pam pamservice=x pam_use_hostname=1", "pam-options"),
    ("local all all bsd", "bsd"),
    ("host all all ::1/128 ldap ldapbasedn=dc=x ldapscheme=ldapi", "ldapscheme-only-logged"),
    ("local all all password", "password"),
    ("local all all reject", "reject"),
    ("host all all ::1/128 ldap ldapprefix=cn= ldapsuffix=x", "ldap-simple-bind"),
    ("host all all ::1/128 ldap ldapurl=ldap://h/", "ldapurl-empty-dn"),
    ("host all all ::1/128 ldap ldapurl=ldaps://h/dc=x ldapscheme=ldaps", "ldapurl"),
    ("host all all ::1/128 ldap ldapprefix=a ldapurl=ldaps://h", "ldapurl-without-dn-and-prefix"),
    ("host all all ::1/128 ldap ldapurl=ldap://h:99/dc=x??one?(x=y", "ldapurl-unbalanced-filter"),
    ("host all all ::1/128 ldap ldapurl=ldap://[::1]:389/dc=x", "ldapurl-ipv6"),
    ('host all all ::1/128 radius radiusservers="a, b" radiussecrets=s radiusports=1', "radius-one-port"),
    ("local all all oauth scope=x issuer=y validator=v delegate_ident_mapping=1", "oauth"),
    ("local /^a.*$ /^b trust", "regex-names"),
    ("local all @names trust", "file-names-are-not-followed"),
    ("include_if_exists missing.conf", "include-if-exists"),
    ('"include" other.conf', "quoted-include-is-include"),
    ("include_if_exists missing.conf,x # comment", "include-takes-first-token"),
]  # fmt: skip


@pytest.mark.parametrize("line", [c[0] for c in ACCEPTED], ids=[c[1] for c in ACCEPTED])
def test_accepted(line: str) -> None:
    assert len(read_config(line + "\n")) == 1


# -- version differences ---------------------------------------------------------------------

VERSIONS = [
    ("include other.conf", 15, 'invalid connection type "include"', "include-before-16"),
    ("include other.conf", 16, None, "include-16"),
    ("include_dir conf.d", 15, 'invalid connection type "include_dir"', "include-dir-before-16"),
    ('local "/(" all trust', 15, None, "slash-is-a-name-before-16"),
    ('local "/(" all trust', 16, 'invalid regular expression "(": parentheses () not balanced', "regex-16"),
    ("local all all oauth scope=x issuer=y", 17, 'invalid authentication method "oauth"', "oauth-before-18"),
    ("local all all oauth scope=x issuer=y", 18, None, "oauth-18"),
    ("local all all md5 map=x", 17, 'authentication option "map" is only valid for authentication methods ident, peer, gssapi, sspi, and cert', "map-message-before-18"),
    ("local all all peer scope=x", 17, 'unrecognized authentication option name: "scope"', "oauth-option-before-18"),
    ("local " + "x" * 10240 + " all trust", 15, "authentication file token too long", "token-too-long-15"),
    ("local " + "x" * 10239 + " all trust", 15, None, "token-longest-15"),
    ("local " + "x" * 10240 + " all trust", 18, None, "no-token-limit-18"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "version", "reason"), [c[:3] for c in VERSIONS], ids=[c[3] for c in VERSIONS]
)
def test_versions(line: str, version: int, reason: str | None) -> None:
    if reason is None:
        assert len(read_config(line, version=version)) == 1
    else:
        with pytest.raises(HBAError) as info:
            read_config(line, version=version)
        assert info.value.reason == reason


def test_include_entry() -> None:
    entry = Entry.parse('include "my file.conf"')
    assert (entry.type, entry.path, entry.is_include) == ("include", "my file.conf", True)
    assert str(entry) == 'include "my file.conf"'


# -- Entry: construction and rendering -------------------------------------------------------

RENDER = [
    (Entry("local", ["all"], ["all"], method="trust"), "local all all trust", "keywords"),
    (Entry("local", [Name("all", quoted=True)], ["all"], method="trust"), 'local "all" all trust', "literal-all"),
    (Entry("local", ["my db"], ["a,b"], method="trust"), 'local "my db" "a,b" trust', "blank-and-comma"),
    (Entry("local", ['say "hi"'], ["a#b"], method="trust"), 'local "say ""hi""" "a#b" trust', "quote-and-hash"),
    (Entry("local", ["db"], ["+my group"], method="trust"), 'local db +"my group" trust', "group-with-blank"),
    (Entry("local", ["@my file"], ["u"], method="trust"), 'local @"my file" u trust', "file-with-blank"),
    (Entry("local", [Name("+g", quoted=True)], ["u"], method="trust"), 'local "+g" u trust', "literal-plus"),
    (Entry("local", ["a", "b"], ["u"], method="peer", options={"map": "x y"}), 'local a,b u peer map="x y"', "list-and-option"),
    (Entry("local", ["a\\"], ["u"], method="trust"), 'local "a\\" u trust', "trailing-backslash-quoted"),
    (Entry("local", [""], ["u"], method="trust"), 'local "" u trust', "empty-name"),
    (Entry("host", ["all"], ["all"], "10.0.0.0", "255.0.0.0", "md5"), "host all all 10.0.0.0 255.0.0.0 md5", "netmask"),
    (Entry("host", ["all"], ["all"], Name("samenet", quoted=True), method="md5"), 'host all all "samenet" md5', "literal-samenet"),
    (Entry("include_dir", path="conf.d"), "include_dir conf.d", "include-dir"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "text"), [c[:2] for c in RENDER], ids=[c[2] for c in RENDER])
def test_render(entry: Entry, text: str) -> None:
    assert str(entry) == text
    again = Entry.parse(text)
    assert again == entry
    assert [d.special for d in again.databases] == [d.special for d in entry.databases]


def test_entry_equality_ignores_meaningless_quotes() -> None:
    assert Entry.parse('local "db" all trust') == Entry.parse("local db all trust")
    assert Entry.parse('local "all" all trust') != Entry.parse("local all all trust")
    assert Entry.parse('host all all "all" trust') != Entry.parse("host all all all trust")


def test_entry_parse_wants_one_record() -> None:
    with pytest.raises(HBAError, match="expected one record, found 0"):
        Entry.parse("# nothing")
    with pytest.raises(HBAError, match="expected one record, found 2"):
        Entry.parse("local all all trust\nlocal all all md5")


def test_entry_parse_error_names_no_line() -> None:
    with pytest.raises(HBAError) as info:
        Entry.parse("local all all bogus")
    assert (info.value.path, info.value.lineno, info.value.line) == (
        None,
        None,
        "local all all bogus",
    )
    assert str(info.value).startswith(
        "invalid authentication method \"bogus\" in 'local all all bogus'; fix"
    )


ENTRY_CHECKS = [
    (Entry("host", ["all"], ["all"], "::1/128", method="peer"), "peer authentication is only supported on local sockets", "server-rule"),
    (Entry("host", ["all"], ["all"], method="md5"), 'a "host" record needs an address', "host-without-address"),
    (Entry("local", ["all"], ["all"], "::1/128", method="md5"), 'a "local" record has no address', "local-with-address"),
    (Entry("local", [], ["all"], method="md5"), "a record needs at least one database and one user", "no-database"),
    (Entry("local", ["a\nb"], ["all"], method="md5"), "a value cannot hold a line break: 'a\\nb'", "line-break"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "reason"), [c[:2] for c in ENTRY_CHECKS], ids=[c[2] for c in ENTRY_CHECKS])  # fmt: skip
def test_entry_check(entry: Entry, reason: str) -> None:
    Entry("local", ["all"], ["all"], method="peer").check()
    with pytest.raises(HBAError) as info:
        entry.check()
    assert info.value.reason == reason
    assert "Entry" in repr(entry)


def test_entries_are_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(Entry.parse("local all all trust"))


def test_name_copies_keep_quoting() -> None:
    import copy
    import pickle

    name = Name("all", quoted=True)
    for other in (copy.copy(name), copy.deepcopy(name), pickle.loads(pickle.dumps(name))):
        assert (other, other.quoted) == ("all", True)


# -- Sequence --------------------------------------------------------------------------------

FILE = """\
# TYPE  DATABASE        USER            ADDRESS                 METHOD

# local
local   all             all                                     trust
# IPv4
host    all             all             127.0.0.1/32            trust
host    all             all             10.0.0.0 255.0.0.0      md5
# IPv6
host    all             all             ::1/128                 trust
"""


def test_sequence_is_list_like() -> None:
    seq = read_config(FILE)
    assert len(seq) == 4
    assert [e.type for e in seq] == ["local", "host", "host", "host"]
    assert seq[-1].address == "::1/128"
    assert [e.method for e in seq[1:3]] == ["trust", "md5"]
    popped = seq.pop(-1)
    assert popped.address == "::1/128"
    assert len(seq) == 3
    del seq[0]
    assert seq[0].address == "127.0.0.1/32"
    assert seq.pop().address == "127.0.0.1/32"  # the seed's default: the first record
    assert len(seq) == 1
    assert "local   all" not in seq.text()
    assert "# local\n" in seq.text()  # comments stay


FIND = [
    ("local", 0, "type-only"),
    ("host", 1, "first-host"),
    ("host all all 127.0.0.1/32", 1, "cidr"),
    ("host all all 127.0.0.1 255.255.255.255", 1, "netmask-matches-cidr"),
    ("host all all 10.0.0.0/8", 2, "cidr-matches-netmask"),
    ("host all all 10.0.0.0/16", -1, "other-mask"),
    ("host all all 10.0.0.0", 2, "address-without-mask"),
    ("host all all 0:0::1/128", 3, "ipv6-spelling"),
    ("host all all ::1/128 trust", 3, "with-method"),
    ("host all all ::1/128 md5", -1, "other-method"),
    ('local "all"', -1, "quoted-keyword-is-not-keyword"),
    ("local all,x", -1, "list-differs"),
    ("hostssl", -1, "no-such-type"),
]


@pytest.mark.parametrize(("fields", "index"), [c[:2] for c in FIND], ids=[c[2] for c in FIND])
def test_find(fields: str, index: int) -> None:
    seq = read_config(FILE)
    assert seq.find(fields) == index
    assert seq.find(fields.split()) == index
    if index < 0:
        with pytest.raises(ValueError, match="no record matches"):
            seq.index(fields)
    else:
        assert seq.index(fields) == index


def test_find_by_entry_and_options() -> None:
    seq = read_config("local all all peer map=a\nlocal all all peer map=b\n")
    assert seq.find(Entry.parse("local all all peer map=b")) == 1
    assert seq.find("local all all peer map=b") == 1
    assert seq.find("local all all peer") == 0


def test_insert_before_and_after() -> None:
    seq = read_config(FILE)
    seq.insert_before("host all all 10.0.0.0/8", "host all all 10.1.0.0/16 reject")
    seq.insert_after(
        "host all all 10.0.0.0/8", Entry("host", ["all"], ["all"], "10.2.0.0/16", method="reject")
    )
    assert [str(e.address) for e in seq[1:5]] == ["127.0.0.1/32", "10.1.0.0/16", "10.0.0.0", "10.2.0.0/16"]  # fmt: skip
    lines = seq.text().splitlines()
    assert lines[6:9] == [
        "host    all             all             10.1.0.0/16             reject",
        "host    all             all             10.0.0.0 255.0.0.0      md5",
        "host    all             all             10.2.0.0/16             reject",
    ]


INSERT_POSITIONS = [
    (1, 0, ["# local", "local", "# IPv4", "NEW", "host"], "directly-above-record"),
    (1, 1, ["# local", "local", "NEW", "# IPv4", "host"], "above-its-comment"),
    (1, 5, ["# local", "local", "NEW", "# IPv4", "host"], "clamped-to-record-above"),
    (1, -1, ["# local", "local", "NEW", "# IPv4", "host"], "directly-below-record-above"),
    (0, 0, ["", "# local", "NEW", "local"], "first-record"),
    (0, -1, ["NEW", "# TYPE", "", "# local", "local"], "top-of-file"),
]


@pytest.mark.parametrize(
    ("index", "position", "expected"),
    [c[:3] for c in INSERT_POSITIONS],
    ids=[c[3] for c in INSERT_POSITIONS],
)
def test_insert_position(index: int, position: int, expected: list[str]) -> None:
    seq = read_config(FILE)
    seq.insert(index, "local all all reject", position=position)
    tags = []
    for line in seq.text().splitlines():
        if "reject" in line:
            tags.append("NEW")
        elif line.startswith("#"):
            tags.append(" ".join(line.split()[:2]))
        else:
            tags.append(line.split(" ", 1)[0])
    start = tags.index(expected[0]) if expected[0] != "" else 1
    assert tags[start : start + len(expected)] == expected


def test_append_and_setitem() -> None:
    seq = read_config(FILE)
    seq.append("hostssl all all ::1/128 cert")
    assert seq.text().endswith(
        "hostssl all             all             ::1/128                 cert\n"
    )
    seq[0] = "local all all peer"
    assert seq[0].method == "peer"
    assert "local   all             all                                     peer\n" in seq.text()


def test_invalid_entries_are_refused() -> None:
    seq = read_config(FILE)
    with pytest.raises(HBAError, match="peer authentication is only supported"):
        seq.append("host all all ::1/128 peer")
    with pytest.raises(HBAError, match="peer authentication is only supported"):
        seq.append(Entry("host", ["all"], ["all"], "::1/128", method="peer"))
    assert read_config(FILE).text() == seq.text()
    with pytest.raises(HBAError, match="invalid connection type"):
        read_config(FILE, version=15).append("include x.conf")


def test_contains() -> None:
    seq = read_config(FILE)
    assert Entry.parse("host all all 10.0.0.0 255.0.0.0 md5") in seq
    assert Entry.parse("host all all 10.0.0.0/8 md5") not in seq  # records compare as written
    assert "host all all 10.0.0.0/8" in seq  # fields select
    assert ["host", "all", "all", "::1/128"] in seq
    assert "hostssl" not in seq
    assert 42 not in seq


def test_remove() -> None:
    seq = read_config(FILE)
    removed = seq.remove("host all all 10.0.0.0/8")
    assert removed.netmask == "255.0.0.0"
    assert "10.0.0.0" not in seq.text()
    with pytest.raises(ValueError):
        seq.remove("host all all 10.0.0.0/8")


# -- writeto: untouched lines byte for byte --------------------------------------------------

BYTE_FOR_BYTE = [
    ("", "empty"),
    ("\n\n\n", "blank-lines"),
    ("# only a comment", "comment-no-newline"),
    (FILE, "initdb-like"),
    (FILE.replace("\n", "\r\n"), "crlf"),
    ("local all all trust", "no-final-newline"),
    ("local all all trust   \t\n", "trailing-blanks"),
    ("local\tall\tall\ttrust # note\n", "tabs-and-comment"),
    ("local all \\\n  all \\\n  trust\n# after\n", "continuation"),
    ("# a \\\nlocal all all trust\n", "continued-comment"),
    ("local all all trust\r\n\n\r\nlocal all all md5\n", "mixed-line-ends"),
    ("local\rall\rall\rtrust\n", "lone-cr"),
    ('local "db ü" all trust # ☃\n', "non-ascii"),
]


@pytest.mark.parametrize("text", [c[0] for c in BYTE_FOR_BYTE], ids=[c[1] for c in BYTE_FOR_BYTE])
def test_writeto_byte_for_byte(text: str) -> None:
    seq = read_config(io.StringIO(text, newline=""))
    out = io.StringIO(newline="")
    seq.writeto(out)
    assert out.getvalue() == text
    assert seq.text() == text


def test_read_file_keeps_invalid_utf8(tmp_path: Path) -> None:
    data = b"# caf\xe9 latin-1\r\nlocal all all trust # \xff\n"
    path = tmp_path / "pg_hba.conf"
    path.write_bytes(data)
    seq = read_file(path)
    seq.append("local all all md5")
    seq.write()
    assert path.read_bytes() == data + b"local all all md5\r\n"


def test_list_of_lines_without_ends() -> None:
    seq = read_config(["# c", "local all all trust", "local all all md5"])
    assert seq.text() == "# c\nlocal all all trust\nlocal all all md5"
    assert [n for n, _ in seq.numbered()] == [2, 3]


def test_writeto_callable() -> None:
    parts: list[str] = []
    read_config(FILE).writeto(parts.append)
    assert "".join(parts) == FILE


def test_edit_changes_only_edited_lines() -> None:
    seq = read_config(FILE)
    seq[1].method = "scram-sha-256"
    seq[2].options["foo"] = "bar"  # an invalid edit is still written; check() finds it
    before = FILE.splitlines()
    after = seq.text().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]
    assert changed == [5, 6]
    assert (
        after[5] == "host    all             all             127.0.0.1/32            scram-sha-256"
    )


def test_modified_record_keeps_its_comment() -> None:
    seq = read_config("local all all trust   # keep me\n")
    seq[0].method = "peer"
    assert seq.text() == "local all all peer  # keep me\n"


def test_reverted_edit_writes_original_bytes() -> None:
    text = "local   all  all   trust # odd spacing\n"
    seq = read_config(text)
    seq[0].method = "peer"
    seq[0].method = "trust"
    assert seq.text() == text


# -- formatting of new records ---------------------------------------------------------------

FORMAT = [
    (FILE, "host all all 192.168.0.0/16 md5", "host    all             all             192.168.0.0/16          md5", "initdb-columns"),
    (FILE, "local sameuser all peer map=m", "local   sameuser        all                                     peer map=m", "local-skips-address"),
    ("local\tall\tall\ttrust\n", "local db u md5", "local\tdb\tu\tmd5", "tabs"),
    ("host\tall\t\tall\t\t::1/128\t\ttrust\n", "host db u 10.0.0.0/8 md5", "host\tdb\t\tu\t\t10.0.0.0/8\tmd5", "double-tabs"),
    ("local all all trust\n", "local db u md5", "local db u md5", "single-spaces"),
    ("# TYPE  DATABASE        USER            ADDRESS                 METHOD\n", "host db u ::1/128 md5", "host    db              u               ::1/128                 md5", "header-only"),
    ("", "host db u ::1/128 md5", "host    db              u               ::1/128                 md5", "empty-file-initdb-defaults"),
    ("host    all             all             127.0.0.1/32            trust\n", "host a_very_long_database_name u ::1/128 md5", "host    a_very_long_database_name u     ::1/128                 md5", "long-field-pushes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "new", "line"), [c[:3] for c in FORMAT], ids=[c[3] for c in FORMAT]
)
def test_format_like_neighbours(text: str, new: str, line: str) -> None:
    seq = read_config(text)
    seq.append(new)
    assert seq.text() == text + line + "\n"
    assert read_config(seq.text())[-1] == Entry.parse(new)


def test_new_record_uses_file_line_end() -> None:
    seq = read_config("local all all trust\r\n")
    seq.append("local db u md5")
    assert seq.text() == "local all all trust\r\nlocal db u md5\r\n"


def test_append_after_unterminated_last_line() -> None:
    seq = read_config("local all all trust")
    seq.append("local db u md5")
    assert seq.text() == "local all all trust\nlocal db u md5\n"


# -- helpers that follow server functions ----------------------------------------------------

GUC_LISTS = [
    ("", [], "empty"),
    ("  ", [], "blank"),
    ("a", ["a"], "one"),
    ("a,b", ["a", "b"], "two"),
    (" a , b ", ["a", "b"], "blanks-around"),
    ('"a b",c', ["a b", "c"], "quoted"),
    ('"a""b"', ['a"b'], "doubled-quote"),
    ("a,,b", None, "empty-element"),
    ("a,", None, "trailing-comma"),
    ('"a', None, "unterminated-quote"),
    ("a b", None, "blank-inside"),
]


@pytest.mark.parametrize(
    ("text", "items"), [c[:2] for c in GUC_LISTS], ids=[c[2] for c in GUC_LISTS]
)
def test_split_guc_list(text: str, items: list[str] | None) -> None:
    assert split_guc_list(text) == items


def test_parse_ldap_url() -> None:
    assert parse_ldap_url("ldaps://h:99/dc=%41?cn,uid?one?(x=y)") == {
        "scheme": "ldaps",
        "server": "h",
        "port": "99",
        "basedn": "dc=A",
        "searchattribute": "cn",
        "searchfilter": "(x=y)",
    }


REGEXES = [
    ("^a.*$", None, "plain"),
    ("(", "parentheses () not balanced", "open-paren"),
    (")", "parentheses () not balanced", "close-paren"),
    ("[", "brackets [] not balanced", "open-bracket"),
    ("]", None, "close-bracket-literal"),
    ("[]a]", None, "bracket-first-literal"),
    ("a{", None, "brace-not-bound-literal"),
    ("a{2", "braces {} not balanced", "unclosed-bound"),
    ("a{3,2}", "invalid repetition count(s)", "bound-order"),
    ("a{1000}", "invalid repetition count(s)", "bound-too-big"),
    ("*a", "quantifier operand invalid", "quantifier-first"),
    ("a**", "quantifier operand invalid", "double-quantifier"),
    ("a??", None, "non-greedy"),
    ("^*", "quantifier operand invalid", "quantified-anchor"),
    ("\\", "invalid escape \\ sequence", "trailing-backslash"),
    ("\\q", "invalid escape \\ sequence", "unknown-escape"),
    ("\\d+\\m", None, "are-escapes"),
    ("\\1", "invalid backreference number", "backref-without-group"),
    ("(a)\\1", None, "backref"),
    ("[[:foo:]]", "invalid character class", "bad-class"),
    ("[[:alpha:]]", None, "class"),
    ("[z-a]", "invalid character range", "bad-range"),
    ("(?i)a", None, "embedded-options"),
    ("***=(", None, "literal-director"),
]


@pytest.mark.parametrize(("text", "error"), [c[:2] for c in REGEXES], ids=[c[2] for c in REGEXES])
def test_regex_error(text: str, error: str | None) -> None:
    assert regex_error(text) == error


def test_module_exports() -> None:
    for name in ("parse_line", "Entry", "read_config", "Sequence", "HBAError", "main"):
        assert hasattr(hba, name)
    assert isinstance(read_config(""), Sequence)
    assert os.path.basename(hba.__file__) == "hba.py"


# -- property: any name or option value survives str() and parse() ---------------------------

SPECIAL = ' \t\r,"#\\+@/=éall'
_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\0\n")),
    st.text(alphabet=SPECIAL),
    st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(blacklist_characters="\0\n")),
)
_names = st.lists(
    st.builds(Name, st.one_of(_text, st.sampled_from(hba.KEYWORDS)), st.booleans()),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(databases=_names, users=_names, value=_text)
def test_any_names_round_trip(databases: list[Name], users: list[Name], value: str) -> None:
    entry = Entry("local", databases, users, method="peer", options={"map": value})
    again = Entry.parse(str(entry), version=15)  # 15: a leading "/" is no regular expression
    assert again == entry
    assert again.databases == databases and again.users == users
    assert [n.special for n in again.databases] == [n.special for n in databases]
    assert [n.special for n in again.users] == [n.special for n in users]
    assert again.options == {"map": value}


# -- features that need a newer release ------------------------------------------------------

VERSION_FEATURE_CASES = [
    pytest.param(
        "include extra.conf", 15, "the include directive needs PostgreSQL 16", id="include-on-15"
    ),
    pytest.param(
        "include_dir conf.d",
        15,
        "the include_dir directive needs PostgreSQL 16",
        id="include-dir-on-15",
    ),
    pytest.param(
        "host all /^al.*$ 127.0.0.1/32 trust",
        15,
        "regular expressions in database and user names needs PostgreSQL 16",
        id="regex-user-on-15",
    ),
    pytest.param(
        "local /^db[0-9]$ all trust",
        15,
        "regular expressions in database and user names needs PostgreSQL 16",
        id="regex-database-on-15",
    ),
    pytest.param(
        "host all all 127.0.0.1/32 oauth issuer=https://issuer.example scope=openid",
        17,
        "the oauth authentication method needs PostgreSQL 18",
        id="oauth-on-17",
    ),
]


@pytest.mark.parametrize(("line", "version", "message"), VERSION_FEATURE_CASES)
def test_require_version_names_the_feature_and_both_versions(
    line: str, version: int, message: str
) -> None:
    with pytest.raises(hba.HBAVersionError) as excinfo:
        hba.require_version(line, version)
    text = str(excinfo.value)
    assert message in text
    assert f"this is PostgreSQL {version}" in text
    assert line in text


INCLUDE = ("the include directive", 16)
REGEX = ("regular expressions in database and user names", 16)
OAUTH = ("the oauth authentication method", 18)


@pytest.mark.parametrize(
    ("line", "version", "features"),
    [
        pytest.param("include extra.conf", 16, [INCLUDE], id="include-on-16"),
        pytest.param("host all /^al.*$ 127.0.0.1/32 trust", 16, [REGEX], id="regex-on-16"),
        pytest.param(
            "host all all 127.0.0.1/32 oauth issuer=https://i.example scope=a",
            18,
            [OAUTH],
            id="oauth-on-18",
        ),
        pytest.param("host all alice 127.0.0.1/32 scram-sha-256", 13, [], id="plain-rule-on-13"),
        pytest.param('host all "alice" 127.0.0.1/32 trust', 15, [], id="quoted-plain-name-on-15"),
    ],
)
def test_require_version_accepts_what_the_release_has(
    line: str, version: int, features: list[tuple[str, int]]
) -> None:
    assert hba.version_features(line) == features
    hba.require_version(line, version)  # no error: this release has every feature used
