"""Workload 3 (pytest-postgresql): 50 tests over 5 postmaster-level x 5 reloadable settings.

`max_connections` (postmaster-level) comes from the process fixture of conftest.py.
`work_mem` (reloadable) is set for the test's session with SET: the cheapest way a
pytest-postgresql user has (a process fixture per work_mem would mean 25 servers).
"""

import psycopg
import pytest
from pytest_postgresql.executors import PostgreSQLExecutor

WORK_MEM = [pytest.param(f"{mb}MB", id=f"{mb}MB-{rep}") for mb in range(1, 6) for rep in range(2)]


def check(proc: PostgreSQLExecutor, max_connections: int, work_mem: str) -> None:
    """Connects to the server, applies work_mem, and checks both settings."""
    with psycopg.connect(
        host=proc.host,
        port=proc.port,
        user=proc.user,
        password=proc.password or None,
        dbname="postgres",
    ) as conn:
        conn.execute("SELECT set_config('work_mem', %s, false)", (work_mem,))
        assert conn.execute("SHOW max_connections").fetchone() == (str(max_connections),)
        assert conn.execute("SHOW work_mem").fetchone() == (work_mem,)


@pytest.mark.parametrize("work_mem", WORK_MEM)
def test_max_connections_20(postgresql_mc20: PostgreSQLExecutor, work_mem: str) -> None:
    check(postgresql_mc20, 20, work_mem)


@pytest.mark.parametrize("work_mem", WORK_MEM)
def test_max_connections_21(postgresql_mc21: PostgreSQLExecutor, work_mem: str) -> None:
    check(postgresql_mc21, 21, work_mem)


@pytest.mark.parametrize("work_mem", WORK_MEM)
def test_max_connections_22(postgresql_mc22: PostgreSQLExecutor, work_mem: str) -> None:
    check(postgresql_mc22, 22, work_mem)


@pytest.mark.parametrize("work_mem", WORK_MEM)
def test_max_connections_23(postgresql_mc23: PostgreSQLExecutor, work_mem: str) -> None:
    check(postgresql_mc23, 23, work_mem)


@pytest.mark.parametrize("work_mem", WORK_MEM)
def test_max_connections_24(postgresql_mc24: PostgreSQLExecutor, work_mem: str) -> None:
    check(postgresql_mc24, 24, work_mem)
