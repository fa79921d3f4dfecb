"""Workload 3 (pytest-boss): 50 tests over 5 postmaster-level x 5 reloadable settings.

Each test declares both settings with the `pg_conf` marker; tests are in the same order as
the pytest-postgresql twin (grouped by max_connections).
"""

import psycopg
import pytest

CASES = [
    pytest.param(
        max_connections,
        f"{mb}MB",
        marks=pytest.mark.pg_conf(max_connections=max_connections, work_mem=f"{mb}MB"),
        id=f"mc{max_connections}-{mb}MB-{rep}",
    )
    for max_connections in range(20, 25)
    for mb in range(1, 6)
    for rep in range(2)
]


@pytest.mark.parametrize(("max_connections", "work_mem"), CASES)
def test_settings(pg_cluster, max_connections: int, work_mem: str) -> None:
    """The server runs with the marker's settings."""
    with psycopg.connect(pg_cluster.dsn()) as conn:
        assert conn.execute("SHOW max_connections").fetchone() == (str(max_connections),)
        assert conn.execute("SHOW work_mem").fetchone() == (work_mem,)
