"""Workload 2 (pytest-boss): 100 tests, each with a fresh database (`pg_database`)."""

import psycopg
import pytest


@pytest.mark.parametrize("n", range(100))
def test_fresh_database(pg_database, n: int) -> None:
    """Creates a table and inserts a row: the table must not exist from an earlier test."""
    with psycopg.connect(pg_database.dsn()) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL)")
        cur.execute("INSERT INTO item VALUES (%s, %s)", (n, f"item {n}"))
        cur.execute("SELECT count(*) FROM item")
        assert cur.fetchone() == (1,)
