"""Workload 2 (pytest-postgresql): 100 tests, each with a fresh database.

The `postgresql` client fixture creates the test database from the process fixture's
template and drops it after the test, as its documentation describes.
"""

import psycopg
import pytest


@pytest.mark.parametrize("n", range(100))
def test_fresh_database(postgresql: psycopg.Connection, n: int) -> None:
    """Creates a table and inserts a row: the table must not exist from an earlier test."""
    with postgresql.cursor() as cur:
        cur.execute("CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL)")
        cur.execute("INSERT INTO item VALUES (%s, %s)", (n, f"item {n}"))
        cur.execute("SELECT count(*) FROM item")
        assert cur.fetchone() == (1,)
    postgresql.commit()
