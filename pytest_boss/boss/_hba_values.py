"""Values inside pg_hba.conf records, read as the server's C code reads them.

Private helper of ``_hba_check``: numeric addresses and netmasks (``getaddrinfo``), CIDR
prefix lengths and numbers (``strtol``, ``atoi``), lists (``SplitGUCList``) and LDAP URLs
(``ldap_url_parse``). A value the server refuses raises ``Rejected`` with its message.
"""

from __future__ import annotations

import functools
import re
import socket
from urllib.parse import unquote


class Rejected(ValueError):
    """A record the server rejects; the argument is the server's message."""

    @property
    def reason(self) -> str:
        return str(self.args[0])


#: Characters a numeric address can hold without a zone (``inet_aton`` forms, IPv6).
_NUMERIC_CHARS = frozenset("0123456789abcdefABCDEFxX.:")
_DOTTED = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\Z"
)


@functools.lru_cache(maxsize=4096)
def numeric_address(text: str) -> tuple[int, bytes] | None:
    """``getaddrinfo(text, AI_NUMERICHOST)``: (family, packed address), or None for a name.

    The C library decides, as it does for the server: ``127.1`` and ``010.0.0.1`` are
    IPv4 addresses to glibc. Raises ``Rejected`` for the rare failures other than "not a
    numeric address". Plain dotted quads and text no numeric form can hold are decided
    here without asking the C library (the answers are the same, faster).
    """
    if text == "":
        return None
    if _DOTTED.match(text):
        return socket.AF_INET, bytes(int(part) for part in text.split("."))
    if "%" not in text and not _NUMERIC_CHARS.issuperset(text):
        return None
    if ":" in text and "%" not in text:
        try:
            return socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text)
        except OSError:
            pass  # the C library says why below
    try:
        infos = socket.getaddrinfo(text, None, socket.AF_UNSPEC, 0, 0, socket.AI_NUMERICHOST)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_NONAME:
            return None
        raise Rejected(f'invalid IP address "{text}": {exc.strerror}') from None
    except (UnicodeError, ValueError):
        return None
    family, _, _, _, sockaddr = infos[0]
    host = str(sockaddr[0]).split("%", 1)[0]
    return int(family), socket.inet_pton(family, host)


@functools.lru_cache(maxsize=256)
def mask_family(mask: str) -> int:
    """The address family of a netmask written as an address; ``Rejected`` when it is none."""
    try:
        infos = socket.getaddrinfo(mask, None, socket.AF_UNSPEC, 0, 0, socket.AI_NUMERICHOST)
    except socket.gaierror as exc:
        raise Rejected(f'invalid IP mask "{mask}": {exc.strerror}') from None
    except (UnicodeError, ValueError):
        raise Rejected(f'invalid IP mask "{mask}": Name or service not known') from None
    return int(infos[0][0])


def strtol_prefix(text: str) -> tuple[int, str] | None:
    """C ``strtol(text, &end, 10)``: (value, rest), or None when no digits were read."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)(\d+)", text)
    if m is None:
        return None
    value = int(m.group(2))
    return (-value if m.group(1) == "-" else value), text[m.end() :]


def atoi(text: str) -> int:
    """C ``atoi``: the leading integer, 0 when there is none (overflow is clamped)."""
    parsed = strtol_prefix(text)
    if parsed is None:
        return 0
    return max(min(parsed[0], 2**31 - 1), -(2**31))


def cidr_bits(text: str, family: int) -> int | None:
    """``pg_sockaddr_cidr_mask``: the prefix length after ``/``, None when invalid."""
    if text.isdigit() and text.isascii():  # the usual case, without a regular expression
        bits = int(text)
        return bits if bits <= (32 if family == socket.AF_INET else 128) else None
    parsed = strtol_prefix(text)
    if text == "" or parsed is None or parsed[1] != "":
        return None
    bits = parsed[0]
    limit = 32 if family == socket.AF_INET else 128
    return bits if 0 <= bits <= limit else None


def split_guc_list(text: str) -> list[str] | None:
    """PostgreSQL's ``SplitGUCList(text, ',')``: the elements, None on a syntax error.

    Elements may be double-quoted (``""`` is a quote); blanks around them are dropped; an
    empty string is an empty list, an empty unquoted element is an error.
    """
    spaces = " \t\n\r\f\v"
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n and text[i] in spaces:
        i += 1
    if i == n:
        return out
    while True:
        if i < n and text[i] == '"':
            j = i + 1
            name: list[str] = []
            while True:
                k = text.find('"', j)
                if k < 0:
                    return None
                name.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    name.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            out.append("".join(name))
        else:
            j = i
            while i < n and text[i] != "," and text[i] not in spaces:
                i += 1
            if i == j:
                return None
            out.append(text[j:i])
        while i < n and text[i] in spaces:
            i += 1
        if i < n and text[i] == ",":
            i += 1
            while i < n and text[i] in spaces:
                i += 1
            continue
        if i == n:
            return out
        return None


_LDAP_SCOPES = {
    "base": 0,
    "one": 1,
    "onelevel": 1,
    "sub": 2,
    "subtree": 2,
    "subord": 3,
    "subordinate": 3,
    "children": 3,
}


def parse_ldap_url(url: str) -> dict[str, str]:
    """The parts of an LDAP URL that the server uses, as OpenLDAP's ``ldap_url_parse`` reads it.

    Returns keys among scheme, server, port, basedn, searchattribute, searchfilter, scope.
    """
    m = re.fullmatch(r"(?i)(ldap|ldaps|ldapi|cldap)://([^/?]*)(.*)", url)
    if m is None:
        raise Rejected(f'could not parse LDAP URL "{url}"')
    scheme = m.group(1).lower()
    hostport = m.group(2)
    rest = m.group(3)
    out: dict[str, str] = {"scheme": scheme}
    host = hostport
    port = ""
    v6 = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", hostport)
    if v6:
        host, port = v6.group(1), v6.group(2) or ""
    elif ":" in hostport:
        host, port = hostport.rsplit(":", 1)
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise Rejected(f'could not parse LDAP URL "{url}"')
        out["port"] = str(int(port))
    else:
        out["port"] = "636" if scheme == "ldaps" else "389"
    if host:
        out["server"] = unquote(host)
    if rest.startswith("/"):
        parts = rest[1:].split("?")
        if len(parts) > 5:
            raise Rejected(f'could not parse LDAP URL "{url}"')
        parts += [""] * (5 - len(parts))
        dn, attrs, scope, filt, _ = parts
        out["basedn"] = unquote(dn)
        if attrs:
            out["searchattribute"] = unquote(attrs.split(",")[0])
        if scope and scope.lower() not in _LDAP_SCOPES:
            raise Rejected(f'could not parse LDAP URL "{url}"')
        if filt:
            out["searchfilter"] = unquote(filt)
    elif rest:
        raise Rejected(f'could not parse LDAP URL "{url}"')
    if scheme not in ("ldap", "ldaps"):
        raise Rejected(f"unsupported LDAP URL scheme: {scheme}")
    return out
