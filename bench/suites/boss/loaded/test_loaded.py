"""Workload 5 (pytest-boss): 20 tests on a loaded template, two postmaster configurations.

Every test gets a fresh database (`pg_database`) copied from the loaded template and checks
the loaded rows are there (with BENCH_TEMPLATE=empty, that the database is empty). Half the
tests ask for a postmaster-level setting, so each worker needs two clusters.
"""

import os

import psycopg
import pytest

LOADED = os.environ.get("BENCH_TEMPLATE") != "empty"

MAX_CONNECTIONS = 40
CASES = [pytest.param(None, id=f"default-{n}") for n in range(10)] + [
    pytest.param(
        MAX_CONNECTIONS,
        marks=pytest.mark.pg_conf(max_connections=MAX_CONNECTIONS),
        id=f"mc{MAX_CONNECTIONS}-{n}",
    )
    for n in range(10)
]


@pytest.mark.parametrize("max_connections", CASES)
def test_loaded(pg_database, max_connections: int | None) -> None:
    """The loaded rows are in this test's database, on a server with the right setting."""
    with psycopg.connect(pg_database.dsn()) as conn:
        if max_connections is not None:
            assert conn.execute("SHOW max_connections").fetchone() == (str(max_connections),)
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        if LOADED:
            assert tables == (3,)
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (5000,)
        else:
            assert tables == (0,)
