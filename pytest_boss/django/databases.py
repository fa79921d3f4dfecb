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

from typing import TYPE_CHECKING, Any

from ..markers import Needs
from .connections import close, connection_settings, point, served_aliases

if TYPE_CHECKING:
    from ..database import Database
    from ..fixtures import TemplateLoader
    from ..pool import ClusterPool, Pooled

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

    def __init__(self, pool: ClusterPool, loader: TemplateLoader | None, alias: str) -> None:
        from django.conf import settings

        self.pool = pool
        self.loader = loader
        self.aliases = served_aliases(settings.DATABASES, alias)
        self.pooled: Pooled | None = None
        self.database: Database | None = None
        self._target: tuple[str, str, int | None] | None = None

    def start(self) -> Database:
        """Make the session's database on the cluster of tests without markers, and point
        Django's connections at it."""
        from ..lease import Lease

        pooled, reloadable = self.pool.acquire(Needs())
        lease = Lease(self.pool, pooled)
        lease.apply(reloadable, [], False)
        self.pooled = lease.pooled
        self.database = self.new_database(lease.pooled)
        self.use(self.database)
        return self.database

    def new_database(self, pooled: Pooled) -> Database:
        """The one place a Django test database is made: a copy of the template."""
        return self.pool.new_database(pooled, self.loader)

    def holds(self, pooled: Pooled) -> bool:
        """Whether the session's database lives on this cluster."""
        return self.pooled is pooled

    def use(self, database: Database, fresh: bool = False) -> None:
        """Point Django's connections at `database`; with `fresh`, reconnect even when
        they point there already. A server restarted since the last connection (its
        postmaster's pid changed) also means a new connection."""
        cluster = database.cluster
        target = (database.name, cluster.data_dir, cluster.pid())
        if fresh or target != self._target:
            point(self.aliases, connection_settings(database))
            self._target = target

    def close(self) -> None:
        """Close Django's connections (before the servers stop)."""
        close(self.aliases)
        self._target = None
