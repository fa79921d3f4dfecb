"""SQL for the plugin's own bookkeeping, through psycopg when it is installed.

With psycopg, each query is one short connection over the unix socket; without it, the
core's `Cluster.sql` runs psql. Either way, results are rows of text (`None` for NULL) and
failures raise the core's `SQLError` with the server's message and SQLSTATE. Reloads and
passwords are the core's; this module only lends them its query.

The questions asked around every test (the isolation check, a reload's confirmation) go
through a `KeptSession` instead: one login in `postgres` that outlives the test, so that
they cost a round trip rather than a login. The server ends it once it has idled for
`KEPT_IDLE_MS` (during a long test), or a test may end it; the next question logs in again.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from dataclasses import dataclass
from typing import Any

from .boss._psql import run_psql
from .boss.cluster import REFUSED_SQLSTATES, Cluster, SQLError
from .boss.privileges import clean_env

__all__ = [
    "APP_NAME",
    "KEPT_IDLE_MS",
    "REFUSED",
    "KeptSession",
    "Reloaded",
    "query",
    "reload_and_wait",
    "set_password",
]

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

#: How long the kept session may sit idle before the server ends it: longer than most tests,
#: short enough that a test which waits for every other session to leave (a smart
#: shutdown, `DROP DATABASE postgres`) waits for it no longer than that.
KEPT_IDLE_MS = 500
#: The kept session's own settings: quiet, and gone by itself after KEPT_IDLE_MS idle
#: (its leaving is not logged either).
KEPT = QUIET.replace("log_min_messages=fatal", "log_min_messages=panic") + (
    f" -c idle_session_timeout={KEPT_IDLE_MS}"
)
#: idle_session_timeout is PostgreSQL 14's: before, no session is kept.
KEPT_SINCE = 14


@functools.cache
def _driver() -> Any:
    """psycopg, imported on first use (its import is slow), or None."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - exercised where psycopg is absent
        return None
    return psycopg


def query(cluster: Cluster, sql: str, dbname: str = "postgres") -> Rows:
    """Run `sql` (one statement) in a login of its own and return its rows as text."""
    psycopg = _driver()
    if psycopg is None:
        return _psql(cluster, sql, dbname)
    dsn = cluster.dsn(dbname, password=None, options=QUIET, application_name=APP_NAME)
    with _connect(psycopg, dsn, dbname) as conn:
        try:
            return _rows(conn.execute(sql))
        except psycopg.Error as exc:
            raise _sql_error(exc, sql, dbname) from None


class KeptSession:
    """One login to a cluster's `postgres` database, kept from one question to the next.

    `run` logs in again when the server ended the session (idle too long, a test's
    `pg_terminate_backend`, a restart): what it runs must bear running twice. Without
    psycopg, or before PostgreSQL 14, nothing is kept and each `run` is a `query`.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._conn: Any = None
        self._lock = threading.Lock()

    def run(self, sql: str) -> Rows:
        """Run one statement; its rows as text."""
        psycopg = _driver()
        if psycopg is None or self.cluster.version[0] < KEPT_SINCE:
            return query(self.cluster, sql)
        with self._lock:
            for again in (False, True):
                if self._conn is None:
                    dsn = self.cluster.dsn(
                        "postgres", password=None, options=KEPT, application_name=APP_NAME
                    )
                    self._conn = _connect(psycopg, dsn, "postgres")
                conn = self._conn
                try:
                    return _rows(conn.execute(sql))
                except psycopg.Error as exc:
                    if not (conn.broken or conn.closed):
                        raise _sql_error(exc, sql, "postgres") from None
                    self._conn = None  # ended by the server: log in again, once
                    with contextlib.suppress(Exception):
                        conn.close()
                    if again:
                        raise _sql_error(exc, sql, "postgres") from None
            raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Log out (before the server stops, or a repair needs `postgres` to itself)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _connect(psycopg: Any, dsn: str, dbname: str) -> Any:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise _sql_error(exc, "-- connect", dbname) from None


def _rows(cursor: Any) -> Rows:
    if cursor.description is None:
        return []
    return [tuple(None if v is None else str(v) for v in row) for row in cursor]


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
    cluster: Cluster,
    timeout: float = 30.0,
    *,
    refused_means_done: bool = False,
    kept: KeptSession | None = None,
) -> Reloaded:
    """Reload the configuration; return once new connections see it (`Cluster.reload_and_wait`
    with this module's query). When the new rules are a test's that may shut us out
    (`refused_means_done`), a refusal proves they are in force: new logins ask. Otherwise
    the `kept` session may ask: once it has taken the reload, so has the postmaster, which
    reads both files and signals its children in one step, before it accepts another
    connection: new connections see the new files."""
    ask = kept.run if kept is not None and not refused_means_done else None
    done = cluster.reload_and_wait(
        timeout,
        query=ask or functools.partial(query, cluster),
        refused_means_done=refused_means_done,
    )
    return Reloaded(done.pending, done.admitted)


def set_password(cluster: Cluster, password: str) -> None:
    """The superuser's password for TCP logins (`Cluster.set_password` with this module's
    query); `cluster.dsn()` and `url()` carry it, and no server log can show it."""
    cluster.set_password(password, query=functools.partial(query, cluster))
