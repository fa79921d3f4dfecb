"""Databases for fixtures of any scope (`pg_database_factory`), and the baselines they make.

A database made by `pg_database_factory()` lives as long as what asked for it: the fixture
being set up (module, class, session or function scope), else the test. It is made from the
template on the worker's default cluster (the one a test without markers gets). What a
module-, class- or session-scoped fixture makes there while it is set up, its databases and
anything else (a role, say), is the baseline for the tests in its scope: isolation keeps it,
and removes it when the scope ends, after the fixture's own teardown.

`pytest_fixture_setup` (plugin.py) tells `Scopes` which fixture is being set up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from .markers import Needs

if TYPE_CHECKING:
    from .database import Database
    from .pool import ClusterPool, Pooled

__all__ = ["DatabaseFactory", "Scopes"]

DatabaseFactory = Callable[[], "Database"]


class Scopes:
    """Which fixture is being set up, and the databases and baselines tied to fixtures."""

    def __init__(self) -> None:
        self._setting_up: list[Any] = []
        #: Fixtures (being set up) that made databases, with their cluster and its pool.
        self._users: dict[int, tuple[Pooled, ClusterPool]] = {}
        self.current_item: pytest.Item | None = None

    # -- told by plugin.py -------------------------------------------------------------------

    def starting(self, fixturedef: Any) -> None:
        """A fixture's function is about to run. Its scope-ended step is registered first,
        so that it runs after the fixture's own teardown."""
        self._setting_up.append(fixturedef)
        if fixturedef.scope != "function":
            fixturedef.addfinalizer(lambda: self._ended(fixturedef))

    def finished(self, fixturedef: Any) -> None:
        """A fixture's function has run: what a wider-scoped one made is now the baseline."""
        self._setting_up.pop()
        used = self._users.get(id(fixturedef))
        if used is not None and fixturedef.scope != "function" and used[0].guard is not None:
            used[0].guard.push()
        elif used is not None:
            self._users.pop(id(fixturedef))

    def _ended(self, fixturedef: Any) -> None:
        used = self._users.pop(id(fixturedef), None)
        if used is None or fixturedef.scope == "function":
            return
        pooled, pool = used
        # A cluster the pool replaced (a leak it could not repair) took the scope with it.
        if pooled.guard is not None and pool.holds(pooled):
            pooled.guard.pop()

    # -- the factory -------------------------------------------------------------------------

    def factory(self, pool: ClusterPool, loader: Any) -> DatabaseFactory:
        """`pg_database_factory`'s callable for one pool and template loader."""

        def make() -> Database:
            pooled = self._default_cluster(pool)
            database = pool.new_database(pooled, loader)

            def drop() -> None:
                from .pool.reconcile import answers

                with contextlib.suppress(Exception):  # its cluster may be gone already
                    if answers(pooled.cluster):
                        pool.databases.drop(pooled, database)

            owner = self._setting_up[-1] if self._setting_up else None
            if owner is not None:
                owner.addfinalizer(drop)
                self._users.setdefault(id(owner), (pooled, pool))
            elif self.current_item is not None:
                self.current_item.addfinalizer(drop)
            return database

        return make

    @staticmethod
    def _default_cluster(pool: ClusterPool) -> Pooled:
        """The worker's cluster for a test without markers, running, with its baseline."""
        from .pool.reconcile import answers

        pooled, _ = pool.acquire(Needs())
        if not answers(pooled.cluster):
            pooled = pool.lend(pooled, dict(pooled.base))
        pool.guard(pooled)
        return pooled
