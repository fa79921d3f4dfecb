"""Where Django's test database lives, test by test.

The session's test database is a copy of the migrated template on the worker's cluster;
tests that use `db` run in it, inside pytest-django's transaction, as usual. A test that
commits (`transactional_db`, `live_server`, `django_db(transaction=True)`) gets a copy of
the template of its own (`pg_database`): Django's flush after it cannot take the rows of
data migrations from later tests. So does a test whose markers put it on another pooled
cluster (a postmaster-level setting, initdb options). A test with any `pg_conf`/`pg_hba`
marker, or that uses the
`pg_conf`/`pg_hba` handles, gets a connection opened after its markers are in force and
closed after it (rules and connection-time settings apply to new connections only).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .connections import close, connection_settings, point, served_aliases

if TYPE_CHECKING:
    from ..boss.cluster import Cluster
    from ..database import Database
    from ..scopes import DatabaseFactory

__all__ = ["TestDatabases", "check_engine"]

#: The engines pytest-boss serves (GeoDjango's needs PostGIS in the installation).
ENGINES = ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis")


def check_engine(databases: dict[str, Any], alias: str) -> None:
    """A database pytest-boss cannot serve is a usage error that says why."""
    import pytest

    engine = str(databases.get(alias, {}).get("ENGINE", ""))
    if alias not in databases or engine not in ENGINES:
        raise pytest.UsageError(
            f"pytest-boss serves Django's {alias!r} database on PostgreSQL, but DATABASES"
            f"[{alias!r}] has ENGINE {engine!r}: use {ENGINES[0]!r} (your settings' HOST, "
            "NAME and password are replaced in tests; a real server is not needed)"
        )


class TestDatabases:
    """The Django test database of a worker: the session's, and which one a test uses."""

    __test__ = False  # not a test class, whatever pytest's python_classes says

    def __init__(self, alias: str) -> None:
        from django.conf import settings

        self.aliases = served_aliases(settings.DATABASES, alias)
        self.database: Database | None = None
        self._target: tuple[str, str, int | None] | None = None

    def start(self, new_database: DatabaseFactory) -> Database:
        """Make the session's database (`pg_database_factory`: on the cluster of tests
        without markers, for as long as the fixture that asks) and point Django at it."""
        self.database = new_database()
        self.use(self.database)
        return self.database

    def holds(self, cluster: Cluster) -> bool:
        """Whether the session's database lives on this cluster."""
        return self.database is not None and self.database.cluster.data_dir == cluster.data_dir

    def use(self, database: Database, fresh: bool = False) -> None:
        """Point Django's connections at `database`; with `fresh`, reconnect even when
        they point there already. A server restarted since the last connection (its
        postmaster's pid changed) also means a new connection. A database whose cluster
        the pool replaced is gone with it: the connections are only closed."""
        cluster = database.cluster
        if not os.path.isdir(cluster.data_dir):
            self.close()
            return
        target = (database.name, cluster.data_dir, cluster.pid())
        if fresh or target != self._target:
            point(self.aliases, connection_settings(database))
            self._target = target

    def close(self) -> None:
        """Close Django's connections (before the servers stop)."""
        close(self.aliases)
        self._target = None
