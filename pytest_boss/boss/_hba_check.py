"""pg_hba.conf record checks as the server does them (``hba.c``: ``parse_hba_line``).

Private helper of ``hba``. ``check_record`` takes the tokenized fields of one record and
either returns its parts or raises ``Rejected`` with the message the server shows in the
``error`` column of ``pg_hba_file_rules``. The checks are those that need no server:
anything depending on the build (``not supported by this build``), on server settings
(``ssl``, ``oauth_validator_libraries``), on name resolution (RADIUS server names) or on
other files (``@file``, ``include``) is left to the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ._hba_lex import Field, Token
from ._hba_regex import regex_error
from ._hba_values import (
    Rejected,
    atoi,
    cidr_bits,
    mask_family,
    numeric_address,
    parse_ldap_url,
    split_guc_list,
)

#: The newest PostgreSQL major version whose rules are modelled here.
NEWEST = 18

CONNECTION_TYPES = ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
INCLUDE_DIRECTIVES = ("include", "include_if_exists", "include_dir")
#: Every method a complete build knows; ``oauth`` from 18.
METHODS = (
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "gss",
    "sspi",
    "ident",
    "peer",
    "ldap",
    "radius",
    "cert",
    "pam",
    "bsd",
    "oauth",
)


@dataclass
class Record:
    """The parts of an accepted record (tokens keep their quoting)."""

    type: str
    databases: list[Token] = field(default_factory=list)
    users: list[Token] = field(default_factory=list)
    address: Token | None = None
    netmask: str | None = None
    method: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    path: str | None = None  # include directives only


def is_keyword(token: Token, word: str) -> bool:
    """PostgreSQL's ``token_is_keyword``: the word, written without a leading quote."""
    return not token.quoted and token.value == word


def _only(field_: Field, what: str) -> Token:
    if len(field_.tokens) > 1:
        raise Rejected(f"multiple values specified for {what}")
    return field_.tokens[0]


@dataclass
class State:
    """What the option checks remember (the fields of ``HbaLine`` they look at)."""

    conntype: str
    method: str
    version: int
    set: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)


def _only_for(name: str, methods: str) -> Rejected:
    return Rejected(
        f'authentication option "{name}" is only valid for authentication methods {methods}'
    )


#: Options valid for one method only (before PostgreSQL 18).
_SINGLE_METHOD_OPTIONS = {
    "pamservice": "pam",
    "pam_use_hostname": "pam",
    "ldapscheme": "ldap",
    "ldapserver": "ldap",
    "ldapport": "ldap",
    "ldapbinddn": "ldap",
    "ldapbindpasswd": "ldap",
    "ldapsearchattribute": "ldap",
    "ldapsearchfilter": "ldap",
    "ldapbasedn": "ldap",
    "ldapprefix": "ldap",
    "ldapsuffix": "ldap",
    "ldaptls": "ldap",
    "ldapurl": "ldap",
    "radiusservers": "radius",
    "radiusports": "radius",
    "radiussecrets": "radius",
    "radiusidentifiers": "radius",
}
#: The same from PostgreSQL 18, which has the oauth method.
_SINGLE_METHOD_OPTIONS_OAUTH = {
    **_SINGLE_METHOD_OPTIONS,
    "issuer": "oauth",
    "scope": "oauth",
    "validator": "oauth",
    "delegate_ident_mapping": "oauth",
}


def check_option(name: str, value: str, st: State) -> None:
    """``parse_hba_auth_opt``: one ``name=value`` option, checked for the record's method."""
    method = st.method
    oauth = st.version >= 18
    single = _SINGLE_METHOD_OPTIONS_OAUTH if oauth else _SINGLE_METHOD_OPTIONS
    if name == "map":
        allowed = ("ident", "peer", "gss", "sspi", "cert") + (("oauth",) if oauth else ())
        if method not in allowed:
            text = (
                "ident, peer, gssapi, sspi, cert, and oauth"
                if oauth
                else ("ident, peer, gssapi, sspi, and cert")
            )
            raise _only_for("map", text)
    elif name == "clientcert":
        if st.conntype != "hostssl":
            raise Rejected('clientcert can only be configured for "hostssl" rows')
        if value == "verify-ca":
            if method == "cert":
                raise Rejected(
                    'clientcert can only be set to "verify-full" when using "cert" authentication'
                )
        elif value != "verify-full":
            raise Rejected(f'invalid value for clientcert: "{value}"')
    elif name == "clientname":
        if st.conntype != "hostssl":
            raise Rejected('clientname can only be configured for "hostssl" rows')
        if value not in ("CN", "DN"):
            raise Rejected(f'invalid value for clientname: "{value}"')
    elif name in ("krb_realm", "include_realm"):
        if method not in ("gss", "sspi"):
            raise _only_for(name, "gssapi and sspi")
    elif name in ("compat_realm", "upn_username"):
        if method != "sspi":
            raise _only_for(name, "sspi")
    elif name in single:
        if method != single[name]:
            raise _only_for(name, single[name])
        _check_method_option(name, value, st)
    else:
        raise Rejected(f'unrecognized authentication option name: "{name}"')
    st.set[name] = value


def _check_method_option(name: str, value: str, st: State) -> None:
    """Value checks of the ldap, radius and oauth options."""
    if name == "ldapurl":
        parts = parse_ldap_url(value)
        for key, part in parts.items():
            if key not in ("port", "scope"):
                st.set["ldap" + key] = part
    elif name == "ldapport":
        if atoi(value) == 0:
            raise Rejected(f'invalid LDAP port number: "{value}"')
    elif name.startswith("radius"):
        what = {
            "radiusservers": "server",
            "radiusports": "port",
            "radiussecrets": "secret",
            "radiusidentifiers": "identifiers",
        }[name]
        items = split_guc_list(value)
        if items is None and name == "radiusports":
            raise Rejected(f'invalid RADIUS port number: "{value}"')  # what the view shows
        if items is None:
            raise Rejected(f'could not parse RADIUS {what} list "{value}"')
        if name == "radiusports":
            for item in items:
                if atoi(item) == 0:
                    raise Rejected(f'invalid RADIUS port number: "{value}"')
        st.lists[name] = items


#: The methods ``check_mandatory`` has rules for (others need no option).
MANDATORY_OPTIONS = ("ldap", "radius", "oauth")


def check_mandatory(st: State) -> None:
    """The checks ``parse_hba_line`` makes after the options: required and exclusive ones."""
    s = st.set
    if st.method == "ldap":
        if "ldapprefix" in s or "ldapsuffix" in s:
            if any(
                k in s
                for k in (
                    "ldapbasedn",
                    "ldapbinddn",
                    "ldapbindpasswd",
                    "ldapsearchattribute",
                    "ldapsearchfilter",
                )
            ):
                raise Rejected(
                    "cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute,"
                    " ldapsearchfilter, or ldapurl together with ldapprefix"
                )
        elif "ldapbasedn" not in s:
            raise Rejected(
                'authentication method "ldap" requires argument "ldapbasedn", "ldapprefix",'
                ' or "ldapsuffix" to be set'
            )
        if "ldapsearchattribute" in s and "ldapsearchfilter" in s:
            raise Rejected("cannot use ldapsearchattribute together with ldapsearchfilter")
    elif st.method == "radius":
        for key in ("radiusservers", "radiussecrets"):
            if not st.lists.get(key):  # an empty list is no list (the server keeps NIL)
                raise Rejected(
                    f'authentication method "radius" requires argument "{key}" to be set'
                )
        servers = st.lists["radiusservers"]
        for key, what in (
            ("radiussecrets", "RADIUS secrets"),
            ("radiusports", "RADIUS ports"),
            ("radiusidentifiers", "RADIUS identifiers"),
        ):
            got = st.lists.get(key, [])
            if len(got) > 1 and len(got) != len(servers):
                raise Rejected(
                    f"the number of {what} ({len(got)}) must be 1 or the same as the number"
                    f" of RADIUS servers ({len(servers)})"
                )
    elif st.method == "oauth":
        for key in ("scope", "issuer"):
            if key not in s:
                raise Rejected(f'authentication method "oauth" requires argument "{key}" to be set')
        if s.get("delegate_ident_mapping") == "1" and "map" in s:
            raise Rejected("map cannot be used in combination with delegate_ident_mapping")


def check_include(fields: list[Field], version: int) -> Record | None:
    """An ``include``-like directive (16+): exactly two fields, the first one the keyword."""
    if version < 16 or len(fields) != 2:
        return None
    word = fields[0].tokens[0].value
    if word not in INCLUDE_DIRECTIVES:
        return None
    return Record(type=word, path=fields[1].tokens[0].value)


def check_record(fields: list[Field], version: int = NEWEST) -> Record:
    """Check one record like ``parse_hba_line``; raise ``Rejected`` with the server's message."""
    directive = check_include(fields, version)
    if directive is not None:
        return directive
    it = iter(fields)
    conntype = _only(next(it), "connection type").value
    if conntype not in CONNECTION_TYPES:
        raise Rejected(f'invalid connection type "{conntype}"')
    rec = Record(type=conntype)
    _check_names(it, rec, version)
    if conntype != "local":
        _check_address(it, rec)
    effective = _check_method(it, rec, version)
    st = State(conntype=conntype, method=effective, version=version)
    for option_field in it:
        for token in option_field.tokens:
            name, eq, value = token.value.partition("=")
            if not eq:
                raise Rejected(f"authentication option not in name=value format: {token.value}")
            check_option(name, value, st)
            rec.options.append((name, value))
    check_mandatory(st)
    return rec


def _check_names(it: Iterator[Field], rec: Record, version: int) -> None:
    """The database and user fields (regular expressions checked from 16)."""
    names = next(it, None)
    if names is None:
        raise Rejected("end-of-line before database specification")
    rec.databases = list(names.tokens)
    names = next(it, None)
    if names is None:
        raise Rejected("end-of-line before role specification")
    rec.users = list(names.tokens)
    if version >= 16:
        for token in rec.databases + rec.users:
            if token.value.startswith("/"):
                error = regex_error(token.value[1:])
                if error is not None:
                    raise Rejected(f'invalid regular expression "{token.value[1:]}": {error}')


def _check_address(it: Iterator[Field], rec: Record) -> None:
    """The address field, and the netmask field after a numeric address without a mask."""
    addr_field = next(it, None)
    if addr_field is None:
        raise Rejected("end-of-line before IP address specification")
    addr = _only(addr_field, "host address")
    rec.address = addr
    if any(is_keyword(addr, k) for k in ("all", "samehost", "samenet")):
        return
    text, slash, bits = addr.value.partition("/")
    numeric = numeric_address(text)
    if slash:
        if numeric is None:
            raise Rejected(f'specifying both host name and CIDR mask is invalid: "{addr.value}"')
        if cidr_bits(bits, numeric[0]) is None:
            raise Rejected(f'invalid CIDR mask in address "{addr.value}"')
    elif numeric is not None:
        mask_field = next(it, None)
        if mask_field is None:
            raise Rejected("end-of-line before netmask specification")
        mask = _only(mask_field, "netmask").value
        if mask_family(mask) != numeric[0]:
            raise Rejected("IP address and mask do not match")
        rec.netmask = mask


def _check_method(it: Iterator[Field], rec: Record, version: int) -> str:
    """The method field and its combination with the type; returns the method in effect."""
    method_field = next(it, None)
    if method_field is None:
        raise Rejected("end-of-line before authentication method")
    method = _only(method_field, "authentication type").value
    if method not in METHODS or (method == "oauth" and version < 18):
        raise Rejected(f'invalid authentication method "{method}"')
    rec.method = method
    conntype = rec.type
    effective = "peer" if (conntype == "local" and method == "ident") else method
    if conntype == "local" and effective == "gss":
        raise Rejected("gssapi authentication is not supported on local sockets")
    if conntype != "local" and effective == "peer":
        raise Rejected("peer authentication is only supported on local sockets")
    if conntype != "hostssl" and effective == "cert":
        raise Rejected("cert authentication is only supported on hostssl connections")
    return effective
