"""The common shapes of a pg_hba.conf record, accepted by one regular expression.

Private helper of ``hba``. Reading a big file spends its time on lines such as
``host all all 10.0.0.0/8 scram-sha-256``: ``shape_accepts`` tells in one match (and a few
cached checks) that the server accepts such a physical line, without tokenizing it. It
says ``False`` whenever it is unsure (doubled quotes, quoted types or addresses, netmasks
after IPv6 addresses, ldap, radius and oauth, unknown options ...): the caller then takes
the fast path or the full check, which also gives the server's message. Tests compare it
with the full check on tricky lines.
"""

from __future__ import annotations

import functools
import re
import socket
import sys

from ._hba_check import State, check_option
from ._hba_lex import MAX_TOKEN
from ._hba_values import Rejected

#: Blanks, then blanks and commas: what separates two fields.
_SEP = r"[ \t\r][ \t\r,]*+"
#: A name token: unquoted characters and quoted runs (no ``""``, which the tokenizer keeps).
_TOKEN = r'(?:[^ \t\r\n,#"]++|"[^"\n]++"(?!"))++'
_NO_REGEX = r'(?!"?/)'  # from 16, a name starting with "/" is a regular expression
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
#: A host name: no character a numeric address needs to be asked of the C library.
_HOST = r'(?=[^ \t\r\n,#"/%]*?[^0-9a-fA-FxX.: \t\r\n,#"/%])[^ \t\r\n,#"/%]++'
_V6_CIDR = r"(?P<v6>[0-9a-fA-F.]*:[0-9a-fA-F:.]*)/0*(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])"
_ADDRESS = rf"(?:{_V4}(?:/0*(?:3[0-2]|[12]?[0-9])|{_SEP}{_V4})|{_V6_CIDR}|{_HOST})"
#: Methods with no required option; which connection types take which is written below.
_ANY_TYPE = "trust|reject|scram-sha-256|md5|password|sspi|pam|bsd|ident"
_OPTION = r'[^ \t\r\n,#"=]++=[^ \t\r\n,#"]*+'
_OPTIONS = rf"(?P<options>(?:{_SEP}{_OPTION}(?:,[ \t\r,]*+{_OPTION})*+)*+)"
_TAIL = r"[ \t\r,]*+(?:#.*)?\n?\Z"


def _compile(regex_names: bool) -> re.Pattern[str]:
    token = _NO_REGEX + _TOKEN if regex_names else _TOKEN
    names = rf"{token}(?:,[ \t\r,]*+{token})*+"
    return re.compile(
        rf"[ \t\r,]*+(?:"
        rf"(?P<local>local){_SEP}{names}{_SEP}{names}{_SEP}(?P<lmethod>{_ANY_TYPE}|peer)"
        rf"|(?P<host>host(?:(?P<ssl>ssl)|nossl|gssenc|nogssenc)?){_SEP}{names}{_SEP}{names}"
        rf"{_SEP}{_ADDRESS}{_SEP}(?P<hmethod>{_ANY_TYPE}|gss|(?(ssl)cert|(?!)))"
        rf"){_OPTIONS}{_TAIL}"
    )


#: The expression needs possessive quantifiers (Python 3.11+) to stay linear; before 3.11
#: it accepts nothing, and every line takes the fast path or the full check.
POSSESSIVE = sys.version_info >= (3, 11)
_NEVER = re.compile(r"(?!)")
#: A blank or comment-only physical line.
BLANK_LINE = re.compile(r"[ \t\r,]*(?:#.*)?\n?\Z")
_WORD = re.compile(r"[^ \t\r,]+")
#: Options whose check does not look at the value.
_VALUE_FREE = frozenset(("map", "krb_realm", "include_realm", "compat_realm", "upn_username"))
#: Options whose check looks at the value too.
_BY_VALUE = frozenset(("clientcert", "clientname"))
_OPTION_OK: dict[tuple[bool, str, str, str], bool] = {}


@functools.cache
def shape_matcher(version: int) -> re.Pattern[str]:
    """The shape expression for a major ``version`` (names starting with ``/`` from 16),
    compiled on first use: importing the module (every cluster does) stays cheap."""
    if not POSSESSIVE:
        return _NEVER
    return _compile(regex_names=version >= 16)


def shape_accepts(line: str, version: int) -> bool:
    """True when ``line`` (one physical line, its line end kept, not continued) is a record
    of a common shape that the full check accepts; ``False`` means "ask the full path"."""
    if version <= 15 and len(line) * 4 >= MAX_TOKEN:
        return False
    match = shape_matcher(version).match(line)
    return match is not None and details_accepted(match, version)


def details_accepted(match: re.Match[str], version: int) -> bool:
    """The checks a shape match leaves: an IPv6 address, the options."""
    v6 = match["v6"]
    if v6 is not None:
        try:
            socket.inet_pton(socket.AF_INET6, v6)
        except OSError:
            return False
    options = match["options"]
    if not options:
        return True
    conntype = match["host"] or "local"
    method = match["lmethod"] or match["hmethod"]
    if method == "ident" and conntype == "local":
        method = "peer"
    newest = version >= 18
    for word in _WORD.findall(options):
        name = word.partition("=")[0]
        ok = _OPTION_OK.get((newest, conntype, method, word if name in _BY_VALUE else name))
        if ok is None:
            ok = _option_ok(name, word, conntype, method, version)
        if not ok:
            return False
    return True


def _option_ok(name: str, word: str, conntype: str, method: str, version: int) -> bool:
    """``check_option`` of one ``name=value`` word, remembered by what it depends on."""
    if name in _BY_VALUE:
        key = word
    elif name in _VALUE_FREE:
        key = name
    else:
        return False
    try:
        check_option(name, word[len(name) + 1 :], State(conntype, method, version))
        ok = True
    except Rejected:
        ok = False
    if len(_OPTION_OK) < 1024:
        _OPTION_OK[(version >= 18, conntype, method, key)] = ok
    return ok
