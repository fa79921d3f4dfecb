"""`url(driver=...)` and `dsn()` with the drivers people use, on a real server, over TCP
with the run's password: SQLAlchemy sync (psycopg, psycopg2, pg8000) and asyncio
(asyncpg, psycopg), and the drivers themselves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest

from pytest_boss import Database
from pytest_boss.boss._endpoint import url
from pytest_boss.boss.cluster import Cluster

#: Needs every kind of quoting in a URL and a libpq string.
ODD_PASSWORD = "p@ss:w/rd %?#'\" \\é+"
SERVER_ADDRESS = "SELECT inet_server_addr()::text, current_database()"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("driver", "scheme"),
    [
        (None, "postgresql"),
        ("asyncpg", "postgresql+asyncpg"),
        ("psycopg", "postgresql+psycopg"),
        ("psycopg2", "postgresql+psycopg2"),
        ("pg8000", "postgresql+pg8000"),
        ("some_new_driver", "postgresql+some_new_driver"),
    ],
    ids=["plain", "asyncpg", "psycopg", "psycopg2", "pg8000", "unknown-but-well-formed"],
)
def test_url_scheme_per_driver(driver: str | None, scheme: str) -> None:
    text = url("u", "p w", "127.0.0.1", 5433, "d b", {"sslmode": "disable"}, driver)
    assert text == f"{scheme}://u:p%20w@127.0.0.1:5433/d%20b?sslmode=disable"


@pytest.mark.unit
@pytest.mark.parametrize("driver", ["", "postgresql+asyncpg", "Asyncpg", "psy copg", "a/b"])
def test_url_refuses_what_is_no_driver_name(driver: str) -> None:
    with pytest.raises(ValueError, match="is not a driver name: give one of asyncpg"):
        url("u", None, "127.0.0.1", 5432, "d", {}, driver)


@pytest.fixture
def database(cluster: Cluster) -> Iterator[Database]:
    """A database of the shared cluster, and the superuser's password made odd."""
    original = cluster.password
    cluster.sql("DROP DATABASE IF EXISTS drivers_db")
    cluster.sql("CREATE DATABASE drivers_db")
    cluster.set_password(ODD_PASSWORD)
    try:
        yield Database("drivers_db", cluster)
    finally:
        assert original is not None
        cluster.set_password(original)
        cluster.sql("DROP DATABASE drivers_db WITH (FORCE)")


def test_database_url_carries_driver_and_params(database: Database) -> None:
    parts = urlsplit(database.url(driver="asyncpg", application_name="x"))
    assert (parts.scheme, parts.hostname, parts.port) == (
        "postgresql+asyncpg",
        "127.0.0.1",
        database.cluster.port,
    )
    assert (unquote(parts.password or ""), parts.path, parts.query) == (
        ODD_PASSWORD,
        "/drivers_db",
        "application_name=x",
    )


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2", "pg8000"])
def test_sqlalchemy_sync_engines(database: Database, driver: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(database.url(driver=driver))
    try:
        with engine.connect() as conn:
            row = conn.execute(sqlalchemy.text(SERVER_ADDRESS)).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("127.0.0.1/32", "drivers_db")


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_sqlalchemy_asyncio_engines(database: Database, driver: str) -> None:
    import sqlalchemy
    from sqlalchemy.ext.asyncio import create_async_engine

    async def main() -> tuple[object, ...]:
        engine = create_async_engine(database.url(driver=driver))
        try:
            async with engine.connect() as conn:
                result = await conn.execute(sqlalchemy.text(SERVER_ADDRESS))
                return tuple(result.one())
        finally:
            await engine.dispose()

    assert asyncio.run(main()) == ("127.0.0.1/32", "drivers_db")


def test_the_drivers_themselves(database: Database) -> None:
    """Each driver's own entry point, with the form it takes: a libpq string for psycopg
    and psycopg2 (TCP: `host=cluster.address`), the plain URL for asyncpg."""
    import asyncpg
    import pg8000.native
    import psycopg
    import psycopg2

    tcp = database.dsn(host=database.cluster.address)
    with psycopg.connect(tcp) as conn:
        assert conn.execute(SERVER_ADDRESS).fetchone() == ("127.0.0.1/32", "drivers_db")
    legacy = psycopg2.connect(tcp)
    try:
        with legacy.cursor() as cursor:
            cursor.execute(SERVER_ADDRESS)
            assert cursor.fetchone() == ("127.0.0.1/32", "drivers_db")
    finally:
        legacy.close()
    parts = urlsplit(database.url())
    native = pg8000.native.Connection(
        unquote(parts.username or ""),
        host=parts.hostname,
        port=parts.port,
        database=parts.path[1:],
        password=unquote(parts.password or ""),
    )
    try:
        assert native.run(SERVER_ADDRESS) == [["127.0.0.1/32", "drivers_db"]]
    finally:
        native.close()

    async def main() -> tuple[object, ...]:
        conn = await asyncpg.connect(database.url())
        try:
            return tuple(await conn.fetchrow(SERVER_ADDRESS))
        finally:
            await conn.close()

    assert asyncio.run(main()) == ("127.0.0.1/32", "drivers_db")

    async def with_psycopg_async() -> tuple[object, ...] | None:
        async with await psycopg.AsyncConnection.connect(tcp) as conn:
            cursor = await conn.execute(SERVER_ADDRESS)
            return await cursor.fetchone()

    assert asyncio.run(with_psycopg_async()) == ("127.0.0.1/32", "drivers_db")
