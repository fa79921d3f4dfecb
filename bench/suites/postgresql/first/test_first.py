"""Workload 1 (pytest-postgresql): one test that reaches a running server.

The process fixture `postgresql_proc` is the running server; the test connects to its
`postgres` database, as the pytest-boss twin does with `pg_cluster`.
"""

import os
import time
from pathlib import Path

import psycopg
from pytest_postgresql.executors import PostgreSQLExecutor


def test_select_1(postgresql_proc: PostgreSQLExecutor) -> None:
    """The server is up when the body starts: the harness reads that moment from BENCH_STAMP."""
    stamp = os.environ.get("BENCH_STAMP")
    if stamp:
        Path(stamp).write_text(repr(time.time()))
    with psycopg.connect(
        host=postgresql_proc.host,
        port=postgresql_proc.port,
        user=postgresql_proc.user,
        password=postgresql_proc.password or None,
        dbname="postgres",
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
