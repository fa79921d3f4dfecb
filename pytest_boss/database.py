"""`Database`: one database of a cluster, with the cluster's connection helpers bound to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .boss.cluster import Cluster

__all__ = ["TEMPLATE_DB", "Database"]

#: The template database pg_database copies: filled by the template loader.
TEMPLATE_DB = "boss_template"


class Database:
    """A database of `cluster` named `name`: what `pg_database` gives a test.

    `dsn()`, `url()` and `sql()` are the cluster's, with `dbname` filled in.
    """

    @classmethod
    def from_template(cls, cluster: Cluster, name: str | None = None) -> Database:
        """A new database copied from the cluster's template database (a pooled cluster,
        or a `pg_cluster_factory(template=True)` one); the caller drops it (or its cluster)."""
        import secrets

        name = name or f"db_{secrets.token_hex(4)}"
        ident = '"' + name.replace('"', '""') + '"'
        cluster.sql(f"CREATE DATABASE {ident} TEMPLATE {TEMPLATE_DB}")
        return cls(name, cluster)

    def __init__(self, name: str, cluster: Cluster) -> None:
        self.name = name
        self.cluster = cluster

    def dsn(self, **params: Any) -> str:
        """libpq keyword string for this database; `params` add or override keywords."""
        return self.cluster.dsn(dbname=self.name, **params)

    def url(self, *, driver: str | None = None, **params: str | int) -> str:
        """postgresql:// URL for this database (over TCP); ``driver="asyncpg"`` gives
        SQLAlchemy's ``postgresql+asyncpg://`` form; ``params`` become the query."""
        return self.cluster.url(dbname=self.name, driver=driver, **params)

    def sql(self, query: str) -> list[tuple[str | None, ...]]:
        """Run `query` in this database; rows as tuples of text (None for NULL)."""
        return self.cluster.sql(query, dbname=self.name)

    def __repr__(self) -> str:
        return f"Database({self.name!r}, {self.cluster!r})"
