"""SQL for the plugin's own bookkeeping, as cheap as this machine allows.

With psycopg installed, each query is one short connection over the unix socket (about
4 ms); without it, the core's `Cluster.sql` runs psql (about 15 ms). Either way, results
are rows of text (`None` for NULL) and failures raise the core's `SQLError` with the
server's message and SQLSTATE. No connection is kept open between calls: tests see no
extra session in `pg_stat_activity` and may set `max_connections` as low as they like.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from .boss.cluster import Cluster, SQLError, password_literal

__all__ = ["Reloaded", "query", "reload_and_wait", "set_password"]


@functools.cache
def _driver() -> Any:
    """psycopg, imported on first use (it costs a quarter of a second), or None."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - exercised where psycopg is absent
        return None
    return psycopg


def query(cluster: Cluster, sql: str, dbname: str = "postgres") -> list[tuple[str | None, ...]]:
    """Run `sql` (one statement) and return its rows as text."""
    psycopg = _driver()
    if psycopg is None:
        return cluster.sql(sql, dbname=dbname)
    try:
        with psycopg.connect(
            cluster.dsn(dbname, password=None), autocommit=True, connect_timeout=10
        ) as conn:
            cursor: Any = conn.execute(sql)
            if cursor.description is None:
                return []
            return [tuple(None if v is None else str(v) for v in row) for row in cursor]
    except psycopg.Error as exc:
        diag = getattr(exc, "diag", None)
        message = getattr(diag, "message_primary", None) or str(exc).strip()
        raise SQLError(sql, message, getattr(exc, "sqlstate", None), str(exc), dbname) from None


#: SQLSTATEs of a login refused by pg_hba.conf (or its authentication method).
REFUSED = ("28000", "28P01")


@dataclass(frozen=True)
class Reloaded:
    """What a reload left: settings that need a restart, and whether the rules now in force
    let the plugin's own logins in (False: a refusal was taken as the proof)."""

    pending: list[str]
    admitted: bool


def reload_and_wait(
    cluster: Cluster, timeout: float = 30.0, *, refused_means_done: bool = False
) -> Reloaded:
    """Reload the configuration; return once new connections see it.

    Says which settings the server wants a restart for (`pending_restart`). Nothing is
    asked before the signal (the rules in force may be a test's, refusing us): the server
    stamps the reload with its clock, compared with ours taken before signalling; until
    then a refused connection only means "not yet". When the new rules are a test's that
    may shut us out (`refused_means_done`), a refusal proves they are in force.
    """
    signalled = time.time()
    cluster.reload(wait=False)
    deadline = time.monotonic() + timeout
    check = (
        f"SELECT pg_conf_load_time() >= to_timestamp({signalled!r}), "
        "(SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart)"
    )
    while True:
        try:
            done, pending = query(cluster, check)[0]
        except SQLError as exc:
            if refused_means_done and _refused(exc):
                return Reloaded([], admitted=False)
            if time.monotonic() > deadline:
                raise
            done, pending = None, None
        if done in ("True", "t"):
            return Reloaded(pending.split(",") if pending else [], admitted=True)
        if time.monotonic() > deadline:
            raise SQLError(check, f"the server did not reload within {timeout:g} s")
        time.sleep(0.002)


def _refused(exc: SQLError) -> bool:
    """A login refused by the rules (connection errors may carry no SQLSTATE)."""
    text = f"{exc.message} {exc.output}"
    return exc.sqlstate in REFUSED or "pg_hba.conf" in text or "authentication failed" in text


def set_password(cluster: Cluster, password: str) -> None:
    """The superuser's password for TCP logins; `cluster.dsn()` and `url()` carry it.
    The server gets its SCRAM verifier, so no server log can show the password."""
    ident = '"' + cluster.user.replace('"', '""') + '"'
    query(cluster, f"ALTER ROLE {ident} PASSWORD {password_literal(password)}")
    cluster.password = password
