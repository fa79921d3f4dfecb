"""`pg_database`'s databases: the template database of a cluster, and copies of it per test.

The template database is filled once per pooled cluster, in the cluster itself. Each test
gets a copy made while the previous test ran (the spare), and its database is dropped in
the background after it: one thread per worker does both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import admin
from ..database import TEMPLATE_DB, Database
from ..errors import TemplateLoadError
from .state import BACKGROUND_TIMEOUT, Pooled

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["TEMPLATE_DB", "Databases"]

TemplateLoader = Callable[[Database], None]


class Databases:
    """Makes and drops the test databases of one worker's clusters."""

    def __init__(self, worker: str, major: int) -> None:
        self.worker = worker
        # FILE_COPY (15+) copies the files and checkpoints, which costs nothing with fsync
        # off; WAL_LOG, the default, writes every block to the WAL.
        self._strategy = " STRATEGY FILE_COPY" if major >= 15 else ""
        self._executor: ThreadPoolExecutor | None = None

    @property
    def _background(self) -> ThreadPoolExecutor:
        """One thread, started on first use: runs without pg_database need none."""
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pytest-boss")
        return self._executor

    def new(self, pooled: Pooled, loader: TemplateLoader | None) -> Database:
        """A fresh database copied from the cluster's template database (filled once).

        The database made ahead while the previous test ran is used when there is one; the
        next one is then started in the background.
        """
        error = pooled.template_error
        if error is not None:
            # The first test to need it sees the loader's own error and traceback; later
            # ones a one-line reminder.
            if pooled.template_error_shown:
                raise TemplateLoadError("pg_template", f"it failed earlier in this run: {error}")
            pooled.template_error_shown = True
            raise error
        if not pooled.template_loaded:
            self._fill_template(pooled, loader)
        name = None
        spare, pooled.spare = pooled.spare, None
        if spare is not None:
            with contextlib.suppress(Exception):  # made ahead in vain: make it now
                name = spare.result(timeout=BACKGROUND_TIMEOUT)
        if name is None:
            name = self._create(pooled)
        pooled.spare = self._background.submit(self._create, pooled)
        return Database(name, pooled.cluster)

    def _fill_template(self, pooled: Pooled, loader: TemplateLoader | None) -> None:
        cluster = pooled.cluster
        pooled.settle()
        admin.query(cluster, f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        admin.query(cluster, f"CREATE DATABASE {TEMPLATE_DB}{self._strategy}")
        if loader is not None:
            loader(Database(TEMPLATE_DB, cluster))
        admin.query(cluster, f"ALTER DATABASE {TEMPLATE_DB} WITH IS_TEMPLATE true")
        pooled.template_loaded = True
        if pooled.guard is not None:
            pooled.guard.rebase()  # what the loader made belongs to the baseline

    def owns(self, name: str) -> bool:
        """Whether a database of that name is one of this worker's (a test's, a spare)."""
        return name.startswith(self._prefix)

    @property
    def _prefix(self) -> str:
        return f"test_{self.worker}_".lower()

    def _create(self, pooled: Pooled) -> str:
        name = f"{self._prefix}{next(pooled.databases)}"
        sql = f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE_DB}{self._strategy}'
        admin.query(pooled.cluster, sql)
        return name

    def drop(self, pooled: Pooled, database: Database) -> None:
        """Drop a test's database in the background (the next test need not wait)."""
        pooled.pending = [f for f in pooled.pending if not f.done()]
        sql = f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'
        pooled.pending.append(self._background.submit(admin.query, database.cluster, sql))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
