"""`Database`: one database of a cluster, with the cluster's connection helpers bound to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .boss.cluster import Cluster

__all__ = ["Database"]


class Database:
    """A database of `cluster` named `name`: what `pg_database` gives a test.

    `dsn()`, `url()` and `sql()` are the cluster's, with `dbname` filled in.
    """

    def __init__(self, name: str, cluster: Cluster) -> None:
        self.name = name
        self.cluster = cluster

    def dsn(self, **params: Any) -> str:
        """libpq keyword string for this database; `params` add or override keywords."""
        return self.cluster.dsn(dbname=self.name, **params)

    def url(self) -> str:
        """postgresql:// URL for this database."""
        return self.cluster.url(dbname=self.name)

    def sql(self, query: str) -> list[tuple[str | None, ...]]:
        """Run `query` in this database; rows as tuples of text (None for NULL)."""
        return self.cluster.sql(query, dbname=self.name)

    def __repr__(self) -> str:
        return f"Database({self.name!r}, {self.cluster!r})"
