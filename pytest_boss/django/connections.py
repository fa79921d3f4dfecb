"""Django's connections pointed at a pytest-boss database.

Django reads a connection's `settings_dict` when it opens the connection: pointing one at
another database is closing it and updating that dict (and `settings.DATABASES`, the same
dict as a rule), so the next query opens a connection there. Connections go over TCP, as
an application's do, so `host` rules of `pg_hba` markers apply to them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..database import Database

__all__ = ["close", "connection_settings", "point", "pointed", "served_aliases"]

#: OPTIONS that would send libpq somewhere else, or ask what a test cluster lacks (TLS).
FOREIGN_OPTIONS = (
    "service",
    "passfile",
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslpassword",
)
_KEYS = ("NAME", "HOST", "PORT", "USER", "PASSWORD")


def connection_settings(database: Database) -> dict[str, str]:
    """The DATABASES entries that reach `database` over TCP with the run's password."""
    cluster = database.cluster
    return {
        "NAME": database.name,
        "HOST": cluster.address,
        "PORT": str(cluster.port),
        "USER": cluster.user,
        "PASSWORD": cluster.password or "",
    }


def served_aliases(databases: Mapping[str, Mapping[str, Any]], alias: str) -> list[str]:
    """`alias` and the aliases whose TEST MIRROR is `alias` (Django points them at the
    same database in tests)."""
    mirrors = [
        name
        for name, entry in databases.items()
        if name != alias and (entry.get("TEST") or {}).get("MIRROR") == alias
    ]
    return [alias, *mirrors]


def close(aliases: Iterable[str]) -> None:
    """Close these aliases' connections in this thread (and their pools, Django 5.1+)."""
    from django.db import connections

    for alias in aliases:
        connection = connections[alias]
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None and (connection.settings_dict.get("OPTIONS") or {}).get("pool"):
            close_pool()


def point(aliases: Iterable[str], values: Mapping[str, Any]) -> None:
    """Close the aliases' connections and make their next one use `values`."""
    from django.conf import settings
    from django.db import connections

    for alias in aliases:
        close([alias])
        entries = (connections[alias].settings_dict, settings.DATABASES[alias])
        for entry in {id(d): d for d in entries}.values():
            entry.update(values)
            options = entry.get("OPTIONS")
            if options:
                for key in FOREIGN_OPTIONS:
                    options.pop(key, None)


@contextlib.contextmanager
def pointed(aliases: Iterable[str], database: Database) -> Iterator[None]:
    """The aliases pointed at `database` for the block, then back where they were."""
    from django.db import connections

    names = list(aliases)
    saved = {alias: {k: connections[alias].settings_dict.get(k) for k in _KEYS} for alias in names}
    point(names, connection_settings(database))
    try:
        yield
    finally:
        for alias, values in saved.items():
            point([alias], values)
