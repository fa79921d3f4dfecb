"""Workload 5 (pytest-postgresql): 20 tests on a loaded template, two postmaster configurations.

Every test gets a fresh database (the `postgresql` client fixtures of conftest.py, cloned
from their process fixture's loaded template) and checks the loaded rows are there (with
BENCH_TEMPLATE=empty, that the database is empty). Half the tests use the server started
with max_connections=40, in the same order as the pytest-boss twin.
"""

import os

import psycopg
import pytest

LOADED = os.environ.get("BENCH_TEMPLATE") != "empty"

MAX_CONNECTIONS = 40


def check(conn: psycopg.Connection, max_connections: int | None) -> None:
    """The loaded rows are in this test's database, on a server with the right setting."""
    if max_connections is not None:
        assert conn.execute("SHOW max_connections").fetchone() == (str(max_connections),)
    tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    if LOADED:
        assert tables == (3,)
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (5000,)
    else:
        assert tables == (0,)


@pytest.mark.parametrize("n", range(10))
def test_loaded_default(postgresql_default: psycopg.Connection, n: int) -> None:
    check(postgresql_default, None)


@pytest.mark.parametrize("n", range(10))
def test_loaded_mc40(postgresql_mc40: psycopg.Connection, n: int) -> None:
    check(postgresql_mc40, MAX_CONNECTIONS)
