"""SQL for the plugin's own bookkeeping, through psycopg when it is installed.

With psycopg, each query is one short connection over the unix socket; without it, the
core's `Cluster.sql` runs psql. Either way, results are rows of text (`None` for NULL) and
failures raise the core's `SQLError` with the server's message and SQLSTATE. No connection
is kept open between calls: tests see no extra session in `pg_stat_activity` and may set
`max_connections` as low as they like. Reloads and passwords are the core's; this module
only lends them its query.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .boss._psql import run_psql
from .boss.cluster import REFUSED_SQLSTATES, Cluster, SQLError
from .boss.privileges import clean_env

__all__ = ["APP_NAME", "REFUSED", "Reloaded", "query", "reload_and_wait", "session", "set_password"]

Rows = list[tuple[str | None, ...]]
#: The application_name of the plugin's own sessions: never counted as a test's connection.
APP_NAME = "pytest-boss"

#: SQLSTATEs of a login refused by pg_hba.conf (or its authentication method).
REFUSED = REFUSED_SQLSTATES
#: The plugin's own sessions log no statements and no errors: a test's share of the server
#: log is the test's doing, even when it turns statement logging on.
QUIET = (
    "-c log_statement=none -c log_min_duration_statement=-1 -c log_duration=off "
    "-c log_min_error_statement=panic -c log_min_messages=fatal"
)


@functools.cache
def _driver() -> Any:
    """psycopg, imported on first use (its import is slow), or None."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - exercised where psycopg is absent
        return None
    return psycopg


def query(cluster: Cluster, sql: str, dbname: str = "postgres") -> Rows:
    """Run `sql` (one statement) and return its rows as text."""
    with session(cluster, dbname) as run:
        return run(sql)


@contextlib.contextmanager
def session(cluster: Cluster, dbname: str = "postgres") -> Iterator[Callable[[str], Rows]]:
    """One connection for several statements (with psycopg; else each runs psql), for work
    that should pay for one login only."""
    psycopg = _driver()
    if psycopg is None:
        yield lambda sql: _psql(cluster, sql, dbname)
        return
    dsn = cluster.dsn(dbname, password=None, options=QUIET, application_name=APP_NAME)
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise _sql_error(exc, "-- connect", dbname) from None

    def run(sql: str) -> Rows:
        try:
            cursor: Any = conn.execute(sql)
        except psycopg.Error as exc:
            raise _sql_error(exc, sql, dbname) from None
        if cursor.description is None:
            return []
        return [tuple(None if v is None else str(v) for v in row) for row in cursor]

    with conn:
        yield run


def _psql(cluster: Cluster, sql: str, dbname: str) -> Rows:
    """psql, when psycopg is not installed, with the plugin's application_name and options."""
    dsn = cluster.dsn(dbname, password=None, options=QUIET, application_name=APP_NAME)
    psql = os.path.join(cluster.bindir, "psql")
    return run_psql(psql, dsn, sql, env=_psql_env, timeout=60.0, dbname=dbname)


def _psql_env() -> dict[str, str]:
    return clean_env(PGCLIENTENCODING="UTF8", PGCONNECT_TIMEOUT="10")


def _sql_error(exc: Any, sql: str, dbname: str) -> SQLError:
    diag = getattr(exc, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc).strip()
    return SQLError(sql, message, getattr(exc, "sqlstate", None), str(exc), dbname)


@dataclass(frozen=True)
class Reloaded:
    """What a reload left: settings that need a restart, and whether the rules now in force
    let the plugin's own logins in (False: a refusal was taken as the proof)."""

    pending: list[str]
    admitted: bool


def reload_and_wait(
    cluster: Cluster, timeout: float = 30.0, *, refused_means_done: bool = False
) -> Reloaded:
    """Reload the configuration; return once new connections see it (`Cluster.reload_and_wait`
    with this module's query). When the new rules are a test's that may shut us out
    (`refused_means_done`), a refusal proves they are in force."""
    done = cluster.reload_and_wait(
        timeout, query=functools.partial(query, cluster), refused_means_done=refused_means_done
    )
    return Reloaded(done.pending, done.admitted)


def set_password(cluster: Cluster, password: str) -> None:
    """The superuser's password for TCP logins (`Cluster.set_password` with this module's
    query); `cluster.dsn()` and `url()` carry it, and no server log can show it."""
    cluster.set_password(password, query=functools.partial(query, cluster))
