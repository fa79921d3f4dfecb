"""One pg_hba.conf record: ``Entry``, its rendering as a line, and the errors about records.

Private helper of ``hba``, which re-exports ``Entry``, ``HBAError``, ``HBAVersionError``,
``version_features`` and ``require_version``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._errors import LineError
from ._hba_check import INCLUDE_DIRECTIVES
from ._hba_names import ADDRESS_KEYWORDS, KEYWORDS, Name, name_key


class HBAError(LineError):
    """A pg_hba.conf record PostgreSQL would reject.

    Attributes: ``reason`` (the server's message), ``path`` (``None`` for lines not read
    from a file), ``lineno`` (1-based line of the record's first line, ``None`` when
    unknown) and ``line`` (the record, continuation lines joined).
    """

    hint = (
        "fix the record or comment it out (PostgreSQL refuses the whole file: a server does"
        " not start, a reload keeps the old rules)"
    )

    def __str__(self) -> str:
        text = (
            self.reason
            if self.path is None and self.lineno is None
            else f"{self.where()}: {self.reason}"
        )
        if self.line is not None:
            text += f" in {self.line!r}"
        return f"{text}; {self.hint}"


class HBAVersionError(HBAError):
    """A record that needs a newer PostgreSQL than the one it is meant for."""

    hint = "run it on a newer installation (--pg-bin) or write the rule without that feature"


def _needs_quotes(value: str) -> bool:
    return value == "" or value.endswith("\\") or any(c in value for c in ' \t\r\n,"#')


def _quote(value: str) -> str:
    if "\n" in value:
        raise HBAError(f"a value cannot hold a line break: {str(value)!r}")
    return '"' + value.replace('"', '""') + '"'


def _render_name(name: str, quoted: bool) -> str:
    """A name as a token that reads back with the same value and the same quoting."""
    if quoted:
        return _quote(name)
    if not _needs_quotes(name):
        return name
    if len(name) > 1 and name[0] in "+@/":
        return name[0] + _quote(name[1:])
    return _quote(name)


def _render_plain(value: str) -> str:
    return _quote(value) if _needs_quotes(value) else value


def _render_option(name: str, value: str) -> str:
    if not _needs_quotes(name + "=" + value):
        return f"{name}={value}"
    if not _needs_quotes(name) and name:
        return f"{name}={_quote(value)}"
    return _quote(f"{name}={value}")


def _names(values: Iterable[str] | str) -> list[Name]:
    if isinstance(values, str):
        values = [values]
    return [v if isinstance(v, Name) else Name(v) for v in values]


class Entry:
    """One pg_hba.conf record.

    ``type`` (``local``, ``host`` ...), ``databases`` and ``users`` (lists of ``Name``),
    ``address`` (a ``Name``, or ``None`` for ``local``), ``netmask`` (when written as a
    separate field), ``method`` (as written: ``ident`` on ``local`` stays ``ident``, which
    the server runs as ``peer``) and ``options`` (name to value, in order). For an include
    directive (16+) ``type`` is the directive and ``path`` its argument.

    Plain strings given to the constructor are names written without quotes (keywords keep
    their meaning); use ``Name("all", quoted=True)`` for a database called ``all``.
    """

    def __init__(
        self,
        type: str,
        databases: Iterable[str] | str = (),
        users: Iterable[str] | str = (),
        address: str | None = None,
        netmask: str | None = None,
        method: str = "",
        options: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        *,
        path: str | None = None,
    ) -> None:
        self.type = type
        self.databases: list[Name] = _names(databases)
        self.users: list[Name] = _names(users)
        self.address: Name | None = (
            None if address is None else address if isinstance(address, Name) else Name(address)
        )
        self.netmask = netmask
        self.method = method
        self.options: dict[str, str] = dict(options or {})
        self.path = path

    @classmethod
    def _of(
        cls,
        type: str,
        databases: list[Name],
        users: list[Name],
        address: Name | None,
        netmask: str | None,
        method: str,
        options: list[tuple[str, str]],
        path: str | None = None,
    ) -> Entry:
        """An entry from parts already checked and converted (no copies, no checks)."""
        self = cls.__new__(cls)
        self.type = type
        self.databases = databases
        self.users = users
        self.address = address
        self.netmask = netmask
        self.method = method
        self.options = dict(options)
        self.path = path
        return self

    @classmethod
    def parse(cls, text: str, version: int | None = None) -> Entry:
        """The one record in ``text`` (continuation lines and a comment allowed)."""
        try:
            seq = _reader()(text, version=version)
        except HBAError as exc:  # one record: its line number says nothing
            raise HBAError(exc.reason, line=exc.line) from None
        if len(seq) != 1:
            raise HBAError(f"expected one record, found {len(seq)}", line=text)
        entry: Entry = seq[0]
        return entry

    @property
    def is_include(self) -> bool:
        """True for an ``include``, ``include_if_exists`` or ``include_dir`` line."""
        return self.type in INCLUDE_DIRECTIVES

    def fields(self) -> list[str]:
        """The fields as they would be written (quoted where needed)."""
        if self.is_include:
            return [self.type, _render_plain(self.path or "")]
        out = [
            _render_plain(self.type),
            ",".join(_render_name(d, d.quoted) for d in self.databases),
            ",".join(_render_name(u, u.quoted) for u in self.users),
        ]
        if self.address is not None:
            out.append(_render_name(self.address, self.address.quoted))
        if self.netmask is not None:
            out.append(_render_plain(self.netmask))
        out.append(_render_plain(self.method))
        out.extend(_render_option(k, v) for k, v in self.options.items())
        return out

    def __str__(self) -> str:
        return " ".join(self.fields())

    def check(self, version: int | None = None) -> None:
        """Raise ``HBAError`` when the server would reject this record."""
        if not self.is_include:
            if not self.databases or not self.users:
                raise HBAError("a record needs at least one database and one user", line=repr(self))
            if (self.type == "local") != (self.address is None):
                needs = "has no address" if self.type == "local" else "needs an address"
                raise HBAError(f'a "{self.type}" record {needs}', line=repr(self))
        again = Entry.parse(str(self), version=version)
        if again != self:  # pragma: no cover - a rendering bug, not a user error
            raise HBAError(f"{self!r} does not read back as itself: {again!r}")

    def _key(self) -> tuple[object, ...]:
        return (
            self.type,
            tuple(name_key(d, KEYWORDS) for d in self.databases),
            tuple(name_key(u, KEYWORDS) for u in self.users),
            None if self.address is None else name_key(self.address, ADDRESS_KEYWORDS),
            self.netmask,
            self.method,
            tuple(self.options.items()),
            self.path,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable: compare, do not hash

    def __repr__(self) -> str:
        try:
            return f"Entry.parse({str(self)!r})"
        except HBAError:
            return f"Entry({self.type!r}, {self.databases!r}, {self.users!r}, ...)"


def version_features(entry: Entry | str) -> list[tuple[str, int]]:
    """The features of a record that not every release has: (description, first major).

    A record that an older server accepts with another meaning (a name starting with ``/`` is
    a plain name before 16) is listed too: for a test, a rule that silently means something
    else is worse than one that is refused.
    """
    if isinstance(entry, str):
        entry = Entry.parse(entry)
    needs: list[tuple[str, int]] = []
    if entry.is_include:
        needs.append((f"the {entry.type} directive", 16))
        return needs
    names = [*entry.databases, *entry.users]
    if any(str(name).startswith("/") for name in names):
        needs.append(("regular expressions in database and user names", 16))
    if entry.method == "oauth":
        needs.append(("the oauth authentication method", 18))
    return needs


def require_version(entry: Entry | str, version: int) -> None:
    """Raise ``HBAVersionError`` naming the version when the record needs a newer PostgreSQL."""
    for feature, since in version_features(entry):
        if version < since:
            raise HBAVersionError(
                f"{feature} needs PostgreSQL {since} or newer, this is PostgreSQL {version}",
                line=str(entry).strip(),
            )


#: ``hba.read_config``, registered by ``hba`` when it is imported: the reader of records
#: lives there and makes entries, so this module does not import it back.
_READ_CONFIG: Callable[..., Any] | None = None


def register_reader(read_config: Callable[..., Any]) -> None:
    """Called by ``hba`` at import: the function ``Entry.parse`` reads a record with."""
    global _READ_CONFIG
    _READ_CONFIG = read_config


def _reader() -> Callable[..., Any]:
    if _READ_CONFIG is None:  # only this private module imported so far: load its reader
        import importlib

        importlib.import_module(__name__.rpartition(".")[0] + ".hba")
    assert _READ_CONFIG is not None
    return _READ_CONFIG
